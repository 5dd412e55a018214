"""Disk space of the store: refuse work that cannot fit, and report a full disk as :class:`StoreFull`.

An import knows what it needs (its manifests declare every size) and is refused before a byte is
written; a save only learns it when the disk fills, so ``ENOSPC``/``EDQUOT`` from any write, copy or
``fsync`` under the store becomes one ``StoreFull`` naming the store, what was being done, the space it
needs (at least what was written when the disk filled) and what is free.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from bento.core.errors import StoreFull

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def free_bytes(path: Path) -> int:
    """Bytes available to this user on the filesystem holding ``path`` (or its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def tree_size(root: Path) -> int:
    """Bytes in the regular files under ``root`` (0 if it is gone)."""
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for fn in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, fn)).st_size
            except FileNotFoundError:
                pass
    return total


def is_no_space(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in NO_SPACE


def store_full(home: Path, what: str, needed: int, *, at_least: bool = False) -> StoreFull:
    """The error for ``what`` needing ``needed`` bytes in the store at ``home``."""
    if not at_least:
        need = human(needed)
    elif needed > 0:
        need = f"more than the {human(needed)} written when the disk filled"
    else:
        need = "more than is free"
    return StoreFull(f"no space left in the store {home} for {what}: it needs {need}, "
                     f"{human(free_bytes(home))} free there; free some space (e.g. `bento models delete` "
                     "unused versions) or set BENTO_HOME to a larger disk")


def ensure_room(home: Path, needed: int, what: str) -> None:
    """Raise :class:`StoreFull` now if ``needed`` bytes do not fit in the store's filesystem."""
    if needed > free_bytes(home):
        raise store_full(home, what, needed)
