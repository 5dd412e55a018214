"""Private scratch directories under ``<home>/.tmp`` (same filesystem as the store, so publishing is a rename).

Each directory ``X`` is paired with a lock file ``X.lock`` that its process holds (``flock``) while it
works. The lock is taken *before* the directory exists, so a lock that another process can take belongs
to nobody: the next process to open a scratch directory removes what a dead one (even one killed by
SIGKILL) left behind at once, and live work is never touched.

A full disk inside the block (``ENOSPC``/``EDQUOT``) is reported as :class:`StoreFull` once the scratch
copy is removed, naming the store and how much was written when the disk filled.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from bento.store import space


def sweep(tmp_root: Path) -> None:
    """Remove scratch directories whose owner process is gone."""
    try:
        entries = list(os.scandir(tmp_root))
    except FileNotFoundError:
        return
    for entry in entries:
        if not entry.name.endswith(".lock"):
            continue
        try:
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


def _locked_name(tmp_root: Path, prefix: str) -> tuple[Path, int]:
    """A fresh ``<name>.lock`` held by this process; retried if a sweeper removed it before we locked it."""
    while True:
        fd, lock = tempfile.mkstemp(dir=tmp_root, prefix=prefix, suffix=".lock")
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return Path(lock), fd
        except FileNotFoundError:
            pass
        os.close(fd)  # swept between mkstemp and flock: that name is gone, take another


@contextlib.contextmanager
def scratch_dir(tmp_root: Path, prefix: str, what: str = "this item") -> Iterator[Path]:
    """A new empty directory under ``tmp_root``, removed (with its lock) when the block ends.

    ``what`` names the work in a :class:`StoreFull` message ("saving model iris").
    """
    written = 0
    try:
        tmp_root.mkdir(parents=True, exist_ok=True)
        sweep(tmp_root)
        lock, fd = _locked_name(tmp_root, prefix)
        path = lock.with_name(lock.name[: -len(".lock")])
        try:
            path.mkdir(mode=0o700)
            try:
                yield path
            except OSError as exc:
                if space.is_no_space(exc):
                    written = space.tree_size(path)
                raise
        finally:
            shutil.rmtree(path, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
            os.close(fd)
    except OSError as exc:
        if not space.is_no_space(exc):
            raise
        raise space.store_full(tmp_root.parent, what, written, at_least=True) from exc
