"""Path safety and atomic writes: every outside path is checked to stay under its root before use."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from bento.core.errors import UnsafePath


def default_home() -> Path:
    """``$BENTO_HOME`` if set, else ``~/bento``."""
    env = os.environ.get("BENTO_HOME")
    return Path(env).expanduser() if env else Path.home() / "bento"


def check_relpath(rel: str, what: str = "path") -> str:
    """Normalise a relative POSIX path from outside (a file name, an archive member) or raise UnsafePath.

    Rejects absolute paths, drive letters, backslashes, empty components and ``..``.
    """
    if not isinstance(rel, str) or not rel:
        raise UnsafePath(f"{what} {rel!r} is empty")
    if "\\" in rel or "\x00" in rel:
        raise UnsafePath(f"{what} {rel!r} contains a backslash or NUL byte")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or (len(rel) > 1 and rel[1] == ":"):
        raise UnsafePath(f"{what} {rel!r} is absolute; only paths relative to the item are allowed")
    parts = [p for p in pure.parts if p != "."]
    if not parts:
        raise UnsafePath(f"{what} {rel!r} names no file")
    if ".." in parts:
        raise UnsafePath(f"{what} {rel!r} contains '..' and could escape its directory")
    return "/".join(parts)


def safe_join(root: Path, rel: str, what: str = "path") -> Path:
    """``root / rel`` after checking ``rel`` and that the resolved result stays under ``root``."""
    clean = check_relpath(rel, what)
    base = root.resolve()
    target = (base / clean).resolve()
    if target != base and base not in target.parents:
        raise UnsafePath(f"{what} {rel!r} resolves outside {root}")
    return target


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and ``os.replace``.

    ``durable``: fsync the file before the replace and the directory after it (skip for caches).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if durable:
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
