"""Small helpers the benchmark scripts share (they run as ``python bench/<name>.py``, so this is importable)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(port: int) -> bool:
    """True once the server on ``port`` answers ``/readyz`` with 200 (raw socket: no client start-up cost)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            return b" 200 " in conn.recv(64)
    except OSError:
        return False


def replace_section(heading: str, section: str) -> None:
    """Put ``section`` (which starts with ``heading``, e.g. ``## Serving``) in place of that section of
    bench/README.md, or append it. The file is shared by every benchmark: re-read right before writing,
    replaced atomically."""
    text = README.read_text()
    start = text.find(heading + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section.rstrip("\n") + "\n" + ("" if end == -1 else text[end:])
    tmp = README.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, README)
