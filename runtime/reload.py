"""``bento serve --reload``: notice source changes by polling ``stat`` (standard library only).

The supervisor asks :meth:`SourceWatcher.changed` a couple of times a second. When something changed it
stops its workers and re-executes itself (:func:`reexec`), handing the already-bound listening socket to
the new process so that the port never closes and clients only see a short pause.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

# What counts as source: Python files and the configuration files a service reads at import.
WATCHED_SUFFIXES = frozenset({".py", ".yaml", ".yml", ".toml", ".json", ".txt", ".cfg", ".ini"})
# Folders that are never the user's source (virtualenvs, caches, VCS data).
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "env", "build", "dist"})
MAX_FILES = 10_000

# Set by the supervisor for the process it re-executes: the inherited listening socket's fd and the
# fact that deployment hooks already ran for this `bento serve`.
LISTEN_FD_ENV = "_BENTO_SERVE_LISTEN_FD"
RELOADED_ENV = "_BENTO_SERVE_RELOADED"


class SourceWatcher:
    """Remembers the modification time and size of every source file under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._seen = self._scan()

    def _scan(self) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS]
            for name in filenames:
                if name.startswith(".") or os.path.splitext(name)[1] not in WATCHED_SUFFIXES:
                    continue
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                found[path] = (st.st_mtime_ns, st.st_size)
                if len(found) >= MAX_FILES:
                    return found
        return found

    def changed(self) -> list[str]:
        """Paths added, removed or modified since the last call (relative to ``root``)."""
        current = self._scan()
        paths = {p for p in current.keys() | self._seen.keys() if current.get(p) != self._seen.get(p)}
        self._seen = current
        return sorted(os.path.relpath(p, self.root) for p in paths)


def reexec(listen_fd: int, cwd: str | Path | None = None) -> NoReturn:
    """Replace this process by a fresh ``bento serve`` with the same arguments, keeping ``listen_fd``.

    ``cwd`` is the directory ``bento serve`` was started in (relative targets resolve against it).
    """
    if cwd is not None:
        os.chdir(cwd)
    os.set_inheritable(listen_fd, True)
    os.environ[LISTEN_FD_ENV] = str(listen_fd)
    os.environ[RELOADED_ENV] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
