"""``bento serve --reload``: notice source changes by polling ``stat`` (standard library only).

The supervisor asks :meth:`SourceWatcher.changed` a couple of times a second. When something changed it
stops its workers and re-executes itself (:func:`reexec`), handing the already-bound listening socket to
the new process so that the port never closes and clients only see a short pause. When the edited
source does not load, the supervisor logs one line (:func:`one_line_error`) and answers every request
503 with it (:func:`answer_unavailable`) until the next change.
"""

from __future__ import annotations

import json
import os
import socket
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


def one_line_error(exc: BaseException, root: str | Path | None = None) -> str:
    """``service.py:3: NameError: name 'x' is not defined``: where in the user's files, and what.

    The location is the innermost frame under ``root`` (the watched project), so our own frames never
    show; a SyntaxError names its own file and line.
    """
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f"{_rel(exc.filename, root)}:{exc.lineno}"
        return f"{where}: SyntaxError: {exc.msg}"
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if root is not None and _under(f.filename, root)]
    prefix = f"{_rel(mine[-1].filename, root)}:{mine[-1].lineno}: " if mine else ""
    from bento.core.errors import BentoError

    return prefix + (text if isinstance(exc, BentoError) else f"{type(exc).__name__}: {text}")


def _under(path: str, root: str | Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(Path(root).resolve())
    except OSError:
        return False


def _rel(path: str, root: str | Path | None) -> str:
    if root is not None and _under(path, root):
        return os.path.relpath(Path(path).resolve(), Path(root).resolve())
    return path


def answer_unavailable(listener: socket.socket, message: str, *, read_timeout: float = 1.0) -> None:
    """Accept the pending connections on ``listener`` and answer each ``503`` with ``message``.

    While a reload waits for a broken edit to be fixed no worker serves, so every request (``/readyz`` and
    ``/livez`` included) gets this answer at once instead of hanging in the listen backlog. The request
    is read (head and a declared body up to 1 MiB, for at most ``read_timeout`` seconds) so that closing
    the connection never resets it before the client reads the answer.
    """
    body = json.dumps({"error": "ServiceUnavailable", "detail": message}).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n"
    ).encode()
    listener.setblocking(False)
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            with conn:
                conn.settimeout(read_timeout)
                try:
                    _read_request(conn)
                    conn.sendall(head + body)
                    conn.shutdown(socket.SHUT_WR)
                except OSError:
                    continue
    finally:
        listener.setblocking(True)


def _read_request(conn: socket.socket, limit: int = 1 << 20) -> None:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = min(int(value.strip()), limit)
    remaining = length - len(rest)
    while remaining > 0:
        chunk = conn.recv(min(remaining, 65536))
        if not chunk:
            return
        remaining -= len(chunk)
