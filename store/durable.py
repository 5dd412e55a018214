"""Durability: what the store publishes is on disk before it becomes visible, and stays there.

Publishing an item is ``fsync`` of every file and of the manifest, ``fsync`` of every directory of the
staging tree, the ``rename`` that makes it visible, then ``fsync`` of the directory that now holds it.
After a power loss an item is therefore either absent or complete, never a name with empty files.

``fsync`` waits on the disk and hashing on the CPU, and both release the GIL, so :class:`Syncer` runs
the fsyncs on a helper thread while the caller hashes (a save) or decompresses and writes the next
member (an import): a durable save then costs about ``max(hash, write-back)`` instead of their sum.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterable

from bento.store import manifest as _manifest


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree_dirs(root: Path) -> None:
    """``fsync`` every directory under ``root`` (deepest first) and ``root`` itself: their entries persist."""
    for dirpath, _, _ in sorted(os.walk(root), key=lambda w: -len(w[0])):
        fsync_dir(Path(dirpath))


def write_synced(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data`` and ``fsync`` it."""
    with open(path, "xb", buffering=0) as f:
        f.write(data)
        os.fsync(f.fileno())


class Syncer:
    """``fsync`` files in order on one helper thread; :meth:`wait` re-raises the first failure.

    Leaving the block with an exception abandons what is still queued (those descriptors are closed
    unsynced): a failed import or save is removed anyway.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bento-fsync")
        self._futures: list[Future[None]] = []
        self._abandon = threading.Event()

    def add_fd(self, fd: int) -> None:
        """Take ownership of ``fd`` (e.g. ``os.dup`` of a file being closed): synced, then closed."""
        self._futures.append(self._pool.submit(self._sync_fd, fd))

    def add_path(self, path: Path) -> None:
        self._futures.append(self._pool.submit(self._sync_path, path))

    def _sync_fd(self, fd: int) -> None:
        try:
            if not self._abandon.is_set():
                os.fsync(fd)
        finally:
            os.close(fd)

    def _sync_path(self, path: Path) -> None:
        if not self._abandon.is_set():
            self._sync_fd(os.open(path, os.O_RDONLY))

    def wait(self) -> None:
        futures, self._futures = self._futures, []
        for f in futures:
            f.result()

    def __enter__(self) -> Syncer:
        return self

    def __exit__(self, exc_type: Any, *rest: object) -> None:
        if exc_type is not None:
            self._abandon.set()
        self._pool.shutdown(wait=True)


def hash_and_sync(root: Path, rels: Iterable[str], progress: _manifest.Progress | None = None) -> list[dict[str, Any]]:
    """Hash the files the caller wrote (two threads) while a third flushes them to disk; the manifest entries."""
    rels = list(rels)
    with Syncer() as syncer:
        for rel in rels:
            syncer.add_path(root / rel)
        files = _manifest.hash_files(root, rels, progress)
        syncer.wait()
    return files
