"""The builder's cache directory (lock files, wheels of our own package), keyed by content.

Location: ``$BENTO_CACHE_DIR``, else ``$XDG_CACHE_HOME/bento``, else ``~/.cache/bento``. Entries are
written atomically; a corrupt or missing entry is simply recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    explicit = os.environ.get("BENTO_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "bento"


def key_of(*parts: Any) -> str:
    """A stable key for JSON-serializable inputs."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def read(kind: str, key: str) -> bytes | None:
    path = cache_dir() / kind / key
    try:
        return path.read_bytes()
    except OSError:
        return None


def write(kind: str, key: str, data: bytes) -> Path:
    directory = cache_dir() / kind
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{key}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, directory / key)
    except BaseException:
        os.unlink(tmp)
        raise
    return directory / key
