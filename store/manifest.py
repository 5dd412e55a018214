"""Item manifests (``model.yaml`` / ``bento.yaml``): file hashing, the content digest, verification.

A manifest records name, version, our version, creation time, labels, metadata, the caller's extra keys,
the total size, the content digest and a sha256 + size for every file. The digest covers the sorted
``(path, sha256, size)`` list only, so identical content has an identical digest wherever it was made.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from bento.core.errors import InvalidArgument

Progress = Callable[[int], None]
CHUNK = 1 << 20
FORMAT_VERSION = 1
RESERVED = ("name", "version", "bento_version", "format", "creation_time", "labels", "metadata",
            "size", "digest", "files")

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def hash_file(path: Path, progress: Progress | None = None) -> tuple[str, int]:
    """sha256 hex digest and size of one file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            size += n
            if progress is not None:
                progress(n)
    return h.hexdigest(), size


class BackgroundHasher:
    """sha256 computed on a helper thread, overlapping the caller's compression or disk writes.

    ``update`` waits for the previous chunk, so at most one chunk is in flight and chunks stay ordered;
    the caller must not mutate a chunk after handing it over (bytes objects are immutable).
    """

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._h = hashlib.sha256()
        self._pool = pool
        self._pending: Future[None] | None = None

    def update(self, data: bytes) -> None:
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self._h.update, data)

    def hexdigest(self) -> str:
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        return self._h.hexdigest()


def scan_files(root: Path, manifest_name: str) -> tuple[list[str], list[str]]:
    """Relative paths of the regular files under ``root`` (sorted) and of anything else found there."""
    files: list[str] = []
    odd: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for d in list(dirnames):
            if (base / d).is_symlink():
                odd.append((base / d).relative_to(root).as_posix())
                dirnames.remove(d)
        for fn in filenames:
            p = base / fn
            rel = p.relative_to(root).as_posix()
            if rel == manifest_name:
                continue
            if p.is_symlink() or not p.is_file():
                odd.append(rel)
            else:
                files.append(rel)
    return sorted(files), sorted(odd)


def hash_files(root: Path, rels: Iterable[str], progress: Progress | None = None) -> list[dict[str, Any]]:
    """``[{"path", "sha256", "size"}]`` for the given files, hashed on two threads (hashlib drops the GIL)."""
    rels = list(rels)
    lock = threading.Lock()

    def report(n: int) -> None:
        if progress is not None:
            with lock:
                progress(n)

    def one(rel: str) -> dict[str, Any]:
        sha, size = hash_file(root / rel, report)
        return {"path": rel, "sha256": sha, "size": size}

    if len(rels) <= 1:
        return [one(r) for r in rels]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, rels))


def content_digest(files: Iterable[dict[str, Any]]) -> str:
    """sha256 over the sorted ``path\\0sha256\\0size\\n`` lines: content only, never wall-clock time."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f["path"]):
        h.update(f"{f['path']}\0{f['sha256']}\0{f['size']}\n".encode())
    return h.hexdigest()


def build(name: str, version: str, creation_time: str, labels: dict[str, Any] | None,
          metadata: dict[str, Any] | None, extra: dict[str, Any] | None, files: list[dict[str, Any]],
          tool_version: str) -> dict[str, Any]:
    for key, value in (("labels", labels), ("metadata", metadata), ("extra", extra)):
        if value is not None and not isinstance(value, dict):
            raise InvalidArgument(f"{key} must be a dict, not {type(value).__name__}")
    clash = sorted(set(extra or {}) & set(RESERVED))
    if clash:
        raise InvalidArgument(f"extra manifest keys {clash} are reserved; rename them")
    for k in labels or {}:
        if not isinstance(k, str):
            raise InvalidArgument(f"label key {k!r} must be a string")
    manifest: dict[str, Any] = {
        "name": name,
        "version": version,
        "format": FORMAT_VERSION,
        "bento_version": tool_version,
        "creation_time": creation_time,
        "labels": dict(labels or {}),
        "metadata": dict(metadata or {}),
    }
    manifest.update(extra or {})
    manifest["size"] = sum(f["size"] for f in files)
    manifest["digest"] = content_digest(files)
    manifest["files"] = files
    return manifest


def dump(manifest: dict[str, Any]) -> bytes:
    try:
        text = yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"labels, metadata and extra must hold plain data (str, numbers, lists, dicts): {exc}")
    return text.encode()


def loads(data: bytes, where: str) -> dict[str, Any]:
    from bento.core.errors import IntegrityError

    try:
        value = yaml.load(data, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise IntegrityError(f"{where}: manifest is not valid YAML: {exc}") from None
    if not isinstance(value, dict) or not isinstance(value.get("files"), list):
        raise IntegrityError(f"{where}: manifest has no file list")
    return value


def load(path: Path) -> dict[str, Any]:
    return loads(path.read_bytes(), str(path))


def problems(root: Path, manifest: dict[str, Any], manifest_name: str, *, deep: bool = True,
             progress: Progress | None = None) -> list[str]:
    """Every missing, extra or altered file under ``root`` compared with ``manifest`` (empty when intact).

    ``deep=False`` compares names and sizes only (cheap); ``deep=True`` also recomputes every sha256.
    """
    out: list[str] = []
    listed = {f["path"]: f for f in manifest["files"] if isinstance(f, dict) and "path" in f}
    present, odd = scan_files(root, manifest_name)
    out += [f"unexpected non-regular file (link or device): {rel}" for rel in odd]
    present_set = set(present)
    out += [f"missing file: {rel}" for rel in sorted(set(listed) - present_set)]
    out += [f"extra file not in the manifest: {rel}" for rel in sorted(present_set - set(listed))]
    common = sorted(present_set & set(listed))
    sized = []
    for rel in common:
        size = (root / rel).stat().st_size
        if size != listed[rel]["size"]:
            out.append(f"altered file: {rel} (size {size}, manifest says {listed[rel]['size']})")
        else:
            sized.append(rel)
    if deep:
        for entry in hash_files(root, sized, progress):
            if entry["sha256"] != listed[entry["path"]]["sha256"]:
                out.append(f"altered file: {entry['path']} (sha256 differs from the manifest)")
    if manifest.get("digest") != content_digest(listed.values()):
        out.append("manifest digest does not match its file list")
    return out
