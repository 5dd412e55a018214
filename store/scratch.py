"""Private scratch directories under ``<home>/.tmp`` (same filesystem as the store, so publishing is a rename).

Each directory is paired with a ``.lock`` file that its process holds (``flock``) while it works. A
process that dies (even by SIGKILL) releases the lock, and the next process to open a scratch directory
removes what it left behind; live work is never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

STALE_AFTER_S = 60  # younger entries may belong to a process between mkdtemp and flock


def sweep(tmp_root: Path) -> None:
    """Remove scratch directories whose owner process is gone."""
    now = time.time()
    try:
        entries = list(os.scandir(tmp_root))
    except FileNotFoundError:
        return
    for entry in entries:
        if not entry.name.endswith(".lock"):
            continue
        try:
            if now - entry.stat().st_mtime < STALE_AFTER_S:
                continue
            fd = os.open(entry.path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its owner is alive
            shutil.rmtree(entry.path[: -len(".lock")], ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
        finally:
            os.close(fd)


@contextlib.contextmanager
def scratch_dir(tmp_root: Path, prefix: str) -> Iterator[Path]:
    """A new empty directory under ``tmp_root``, removed (with its lock) when the block ends."""
    tmp_root.mkdir(parents=True, exist_ok=True)
    sweep(tmp_root)
    path = Path(tempfile.mkdtemp(dir=tmp_root, prefix=prefix))
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)
