"""Moving items between a store and the outside: export/import archives, push/pull to an fsspec URL.

A remote store is a directory tree at any fsspec URL (``file://``, ``memory://``, ``s3://`` with s3fs):
``<url>/<kind>s/<name>/<version>.bentomodel|.bento`` plus ``<url>/<kind>s/<name>/latest``. A bento's
archive carries the models it references, so pushing a bento pushes its models and pulling restores them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bento.store import archive, manifest as _manifest
from bento.core.errors import AlreadyExists, InvalidArgument, NotFound
from bento.store.item import Item
from bento.store.scratch import scratch_dir
from bento.store.tags import Tag, check_version
from bento.store.unpack import Unpacker

if TYPE_CHECKING:
    from bento.store import Store
    from bento.store.items import ItemStore

EXTENSIONS = {"model": ".bentomodel", "bento": ".bento"}


def _items(store: Store, kind: str) -> ItemStore:
    if kind not in EXTENSIONS:
        raise InvalidArgument(f"kind must be 'model' or 'bento', not {kind!r}")
    return store.models if kind == "model" else store.bentos


def plan(store: Store, kind: str, tag: str, include_models: bool = True) -> list[tuple[str, Item]]:
    """The ``(archive prefix, item)`` pairs an export writes: the item, then (bentos) its models."""
    item = _items(store, kind).get(tag)
    pairs = [(kind, item)]
    if kind == "bento" and include_models:
        models = sorted(store.models_of(item), key=lambda m: m.tag)
        pairs += [(f"models/{m.name}/{m.version}", m) for m in models]
    return pairs


def _is_url(dest: str) -> bool:
    return "://" in dest and not dest.startswith("file://")


def _local(dest: str) -> Path:
    return Path(dest[len("file://"):] if dest.startswith("file://") else dest).expanduser()


def export(store: Store, kind: str, tag: str, dest: str | os.PathLike[str], *, compression: str = "zstd",
           level: int | None = None, include_models: bool = True, progress: _manifest.Progress | None = None) -> str:
    """Write one archive to a file path, a directory (``<name>-<version><ext>`` inside) or an fsspec URL."""
    pairs = plan(store, kind, tag, include_models)
    main = pairs[0][1]
    filename = f"{main.name}-{main.version}{EXTENSIONS[kind]}"
    dest = os.fspath(dest)
    if _is_url(dest):
        import fsspec

        fs, path = fsspec.core.url_to_fs(dest)
        if dest.endswith("/") or fs.isdir(path):
            path = path.rstrip("/") + "/" + filename
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent:
            fs.makedirs(parent, exist_ok=True)
        tmp = f"{path}.part-{uuid.uuid4().hex[:8]}"
        try:
            with fs.open(tmp, "wb") as out:
                archive.write(out, pairs, compression=compression, level=level, progress=progress)
            fs.mv(tmp, path)
        except BaseException:
            if fs.exists(tmp):
                fs.rm(tmp)
            raise
        return str(fs.unstrip_protocol(path))
    target = _local(dest)
    if dest.endswith(("/", os.sep)) or target.is_dir():
        target = target / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            archive.write(out, pairs, compression=compression, level=level, progress=progress)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return str(target)


def _open_source(src: str | os.PathLike[str]) -> IO[bytes]:
    src = os.fspath(src)
    if _is_url(src):
        import fsspec

        fs, path = fsspec.core.url_to_fs(src)
        if not fs.exists(path):
            raise NotFound(f"archive {src} not found")
        return fs.open(path, "rb")  # type: ignore[no-any-return]
    path = _local(src)
    if not path.is_file():
        raise NotFound(f"archive {path} not found")
    return open(path, "rb")


def import_archive(store: Store, kind: str, src: str | os.PathLike[str] | IO[bytes], *,
                   progress: _manifest.Progress | None = None) -> tuple[Item, bool]:
    """Import an archive, verifying every member against its manifest as it is extracted; ``(item, existed)``.

    Refused archives (unsafe members, links, devices, content that does not match the manifest or expands
    past it, reserved tags, more than the disk holds, a tag taken by different content) leave the store
    untouched and no scratch behind.
    """
    target = _items(store, kind)
    with scratch_dir(target._tmp_root(), "import-", what=f"importing a {kind}") as staging:
        unpacker = Unpacker(kind, staging, store.root, progress)
        if isinstance(src, (str, os.PathLike)):
            with _open_source(src) as f:
                found = unpacker.run(f)
        else:
            found = unpacker.run(src)
        verified = [(_items(store, u.kind), u.prefix, u.info) for u in found]
        for items, _, info in verified:  # refuse before publishing anything
            existing = items._existing(info["name"], info["version"])
            if existing is not None and existing.digest != info["digest"]:
                raise AlreadyExists(f"{items.kind} {existing.tag} already exists in {store.root} with different "
                                    "content; delete it first or keep the stored one")
        result: tuple[Item, bool] | None = None
        for items, prefix, info in sorted(verified, key=lambda v: v[1] == kind):  # models first
            published = items.publish(staging / prefix, info)
            if prefix == kind:
                result = published
        assert result is not None
        return result


def _remote_dir(url: str, kind: str, name: str) -> tuple[Any, str]:
    import fsspec

    fs, base = fsspec.core.url_to_fs(url)
    return fs, f"{base.rstrip('/')}/{kind}s/{name}"


def push(store: Store, kind: str, tag: str, url: str, *, progress: _manifest.Progress | None = None) -> str:
    """Upload ``tag`` (a bento with its models) to the remote store at ``url``; returns the archive URL."""
    item = _items(store, kind).get(tag)
    fs, folder = _remote_dir(url, kind, item.name)
    path = f"{folder}/{item.version}{EXTENSIONS[kind]}"
    written = export(store, kind, item.tag, fs.unstrip_protocol(path), progress=progress)
    with fs.open(f"{folder}/latest", "wb") as f:
        f.write(item.version.encode())
    return written


def pull(store: Store, kind: str, tag: str, url: str, *, progress: _manifest.Progress | None = None) -> tuple[Item, bool]:
    """Download ``tag`` (``name``, ``name:latest``, ``name:version`` or a version prefix) from ``url``."""
    parsed = Tag.parse(tag)
    fs, folder = _remote_dir(url, kind, parsed.name)
    ext = EXTENSIONS[kind]
    version = parsed.version
    if version is None:
        try:
            with fs.open(f"{folder}/latest", "rb") as f:
                version = f.read().decode().strip()
        except FileNotFoundError:
            raise NotFound(f"{kind} {parsed.name}:latest not found at {url}") from None
    elif not fs.exists(f"{folder}/{version}{ext}"):
        try:
            names = [p.rsplit("/", 1)[-1] for p in fs.ls(folder, detail=False)]
        except FileNotFoundError:
            names = []
        matches = sorted(n[: -len(ext)] for n in names if n.endswith(ext) and n.startswith(version))
        if len(matches) > 1:
            raise InvalidArgument(f"{kind} tag {tag} is ambiguous at {url}: {', '.join(matches[:5])}")
        if not matches:
            raise NotFound(f"{kind} {tag} not found at {url}")
        version = matches[0]
    check_version(version, f"{parsed.name}:{version}")
    with fs.open(f"{folder}/{version}{ext}", "rb") as f:
        return import_archive(store, kind, f, progress=progress)

