"""The supervisor's private runtime directory (``bento-serve-*`` in the temp dir): sockets, lock files,
metrics of the workers, results fetched from dependencies.

A supervisor removes its directory when it exits; one killed with SIGKILL cannot. Each directory therefore
records its owner (pid and the kernel's start time of that process, so a recycled pid does not count as
alive) in an ``owner`` file, and every new supervisor removes the directories whose owner is dead. A
directory without that file, or of another user, is never touched.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

logger = logging.getLogger("bento.serve")
PREFIX = "bento-serve-"
OWNER_FILE = "owner"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), None without ``/proc``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, and not ours to judge
        return True
    return started is None or _start_time(pid) in (None, started)


def sweep_stale(parent: str | None = None) -> list[str]:
    """Remove this user's runtime directories whose supervisor is dead; returns the removed paths."""
    parent = parent or tempfile.gettempdir()
    removed: list[str] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            with open(os.path.join(entry.path, OWNER_FILE)) as owner:
                pid_text, _, started = owner.read().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if not _alive(pid, started or None):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    if removed:
        logger.info("removed %d runtime director%s of stopped servers: %s", len(removed),
                    "y" if len(removed) == 1 else "ies", ", ".join(removed))
    return removed


def create() -> str:
    """A new private (0700) runtime directory owned by this process, after sweeping the stale ones."""
    sweep_stale()
    path = tempfile.mkdtemp(prefix=PREFIX)
    pid = os.getpid()
    with open(os.path.join(path, OWNER_FILE), "w") as owner:
        owner.write(f"{pid} {_start_time(pid) or ''}".strip())
    return path
