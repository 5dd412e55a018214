"""Hand-made archives for the hostile-import tests: real tar streams, zstd-compressed, with valid manifests."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any

import yaml
import zstandard

from bento.store.manifest import content_digest


def manifest(files: dict[str, bytes | int], name: str = "evil", version: str = "v1", **over: Any) -> bytes:
    """A consistent manifest; a file given as an int is declared with that size and the sha256 of zeros."""
    entries = []
    for path, data in sorted(files.items()):
        if isinstance(data, int):
            entries.append({"path": path, "sha256": "0" * 64, "size": data})
        else:
            entries.append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    info = {"name": name, "version": version, "labels": {}, "metadata": {},
            "size": sum(e["size"] for e in entries), "digest": content_digest(entries), "files": entries, **over}
    return yaml.safe_dump(info).encode()


def member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def write_archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(zstandard.ZstdCompressor().compress(buf.getvalue()))
    return path


def write_bomb(path: Path, head: list[tuple[tarfile.TarInfo, bytes]], name: str, size: int,
               chunk: int = 1 << 20) -> Path:
    """``head`` members, then a member ``name`` of ``size`` zero bytes streamed through zstd (never in memory)."""
    with open(path, "wb") as out, zstandard.ZstdCompressor(level=3).stream_writer(out, closefd=False) as z:
        for info, data in head:
            z.write(info.tobuf(tarfile.PAX_FORMAT))
            z.write(data + b"\0" * (-len(data) % 512))
        info = tarfile.TarInfo(name)
        info.size = size
        z.write(info.tobuf(tarfile.PAX_FORMAT))
        zeros = bytes(chunk)
        left = size
        while left > 0:
            z.write(zeros[: min(chunk, left)])
            left -= chunk
        z.write(b"\0" * (-size % 512) + b"\0" * 1024)
    return path
