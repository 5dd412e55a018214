"""Bounded extraction of an archive: every member is checked against its item's manifest as it arrives.

An archive is trusted for nothing. Each item's manifest (``<kind>/<kind>.yaml``, or
``models/<name>/<version>/model.yaml`` inside a bento archive) must come before that item's files, as
``bento.store.archive.write`` puts it. It is read (at most ``MANIFEST_LIMIT`` bytes) and validated: a
valid, unreserved tag; a file list of safe, distinct paths, none nested under another; sizes and the
digest consistent. Its declared total must fit in the store's free space before a byte of content is
written. Then each member must be a regular file that the manifest lists, with exactly the declared size
(checked on the tar header, so a member is never written past its declared size), and its sha256 must
match once written. The decompressed stream as a whole is capped by what the manifests declare plus tar
overhead, which bounds what headers and PAX records can make us read. Every file is fsynced (on a helper
thread, overlapping the next member) before the caller publishes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bento.core.errors import IntegrityError, InvalidArgument, UnsafePath
from bento.store import archive, durable, manifest as _manifest, space
from bento.store.manifest import CHUNK
from bento.store.paths import check_relpath, safe_join
from bento.store.tags import check_component, check_version

MANIFEST_LIMIT = 64 << 20  # a manifest listing 100,000 files is about 15 MiB
MEMBER_OVERHEAD = 4 << 10  # tar header + PAX record + padding, generously
SLACK = 4 * CHUNK  # tarfile reads ahead by whole buffers
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Unpacked:
    """One item found in the archive: its kind, its folder in the staging tree and its manifest."""

    kind: str
    prefix: str
    info: dict[str, Any]
    left: dict[str, dict[str, Any]] = field(default_factory=dict)  # listed files not extracted yet
    done: set[str] = field(default_factory=set)


def split_member(rel: str, kind: str) -> tuple[str, str, str]:
    """``(prefix, item kind, path inside the item)`` of a member, or raise if it is outside the layout."""
    parts = rel.split("/")
    if parts[0] == kind and len(parts) >= 2:
        return kind, kind, "/".join(parts[1:])
    if kind == "bento" and parts[0] == "models" and len(parts) >= 4:
        return "/".join(parts[:3]), "model", "/".join(parts[3:])
    other = {"model": "bento", "bento": "model"}[kind]
    if parts[0] == other:
        raise InvalidArgument(f"this is a {other} archive; import it with "
                              f"`bento {'models ' if other == 'model' else ''}import`")
    raise UnsafePath(f"archive member {rel!r} is outside the {kind} archive layout; refused")


def check_manifest(info: dict[str, Any], prefix: str, kind: str) -> dict[str, dict[str, Any]]:
    """Validate an archived manifest; ``{path: entry}`` of the files it lists."""
    name, version = str(info.get("name")), str(info.get("version"))
    check_component(name, "name", f"{name}:{version}")
    check_version(version, f"{name}:{version}")
    where = f"archive {kind} {name}:{version}"
    if prefix != kind and prefix != f"models/{name}/{version}":
        raise IntegrityError(f"{where} is stored under {prefix}/ in the archive; refused")
    listed: dict[str, dict[str, Any]] = {}
    for entry in info["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise IntegrityError(f"{where}: manifest entry {entry!r} has no path")
        path = entry["path"]
        if check_relpath(path, f"file {path!r} in the manifest of {where}") != path or path in listed:
            raise IntegrityError(f"{where}: manifest lists {path!r} twice or not in normal form")
        size, sha = entry.get("size"), entry.get("sha256")
        if type(size) is not int or size < 0 or not isinstance(sha, str) or not _SHA256.match(sha):
            raise IntegrityError(f"{where}: manifest entry {path!r} needs a size in bytes and a sha256")
        listed[path] = entry
    if f"{kind}.yaml" in listed:
        raise IntegrityError(f"{where}: manifest lists its own name {kind}.yaml as a file; refused")
    names = set(listed)
    for path in listed:
        parents = path.split("/")[:-1]
        for i in range(1, len(parents) + 1):
            if "/".join(parents[:i]) in names:
                raise IntegrityError(f"{where}: manifest lists {'/'.join(parents[:i])!r} as a file and "
                                     f"{path!r} under it; refused")
    if info.get("size") != sum(e["size"] for e in listed.values()):
        raise IntegrityError(f"{where}: manifest size {info.get('size')!r} is not the sum of its file sizes")
    if _manifest.content_digest(listed.values()) != info.get("digest"):
        raise IntegrityError(f"{where}: manifest digest does not match its file list")
    return listed


class Unpacker:
    """Extract one archive into ``staging``; :meth:`run` returns the items, their files all verified."""

    def __init__(self, kind: str, staging: Path, home: Path, progress: _manifest.Progress | None = None) -> None:
        self.kind = kind
        self.staging = staging
        self.home = home
        self.progress = progress
        self.items: dict[str, Unpacked] = {}
        self.budget = archive.Budget(MANIFEST_LIMIT + SLACK)
        self.declared = 0
        self.written = 0

    def run(self, src: IO[bytes]) -> list[Unpacked]:
        try:
            with durable.Syncer() as syncer, contextlib.closing(archive.members(src, self.budget)) as stream:
                for m, reader in stream:
                    self._member(m, reader, syncer)
                syncer.wait()
        except OSError as exc:
            if space.is_no_space(exc):
                raise space.store_full(self.home, self._what(), self.declared) from exc
            raise
        if self.kind not in self.items:
            raise IntegrityError(f"the archive holds no {self.kind} (no {self.kind}/{self.kind}.yaml)")
        for item in self.items.values():
            if item.left:
                missing = sorted(item.left)
                raise IntegrityError(f"archive {item.kind} {item.info['name']}:{item.info['version']} does not match "
                                     f"its manifest: missing file{'s' if len(missing) > 1 else ''} "
                                     f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; nothing was imported")
        durable.fsync_tree_dirs(self.staging)
        return list(self.items.values())

    def _what(self) -> str:
        main = self.items.get(self.kind)
        return f"importing {self.kind} {main.info['name']}:{main.info['version']}" if main else f"importing a {self.kind}"

    def _member(self, m: tarfile.TarInfo, reader: IO[bytes] | None, syncer: durable.Syncer) -> None:
        rel = check_relpath(m.name, "archive member")
        prefix, kind, inner = split_member(rel, self.kind)
        if reader is None:
            return  # directory entries: directories are made for the files they hold
        if inner == f"{kind}.yaml":
            self._manifest(prefix, kind, m, reader)
            return
        item = self.items.get(prefix)
        if item is None:
            raise IntegrityError(f"archive member {rel!r} comes before its {kind}.yaml (or there is none); "
                                 "archives list each manifest before its files")
        entry = item.left.pop(inner, None)
        if entry is None:
            if inner in item.done:
                raise UnsafePath(f"archive member {rel!r} appears twice; refused")
            raise IntegrityError(f"archive member {rel!r} is not in the manifest of {kind} "
                                 f"{item.info['name']}:{item.info['version']}; nothing was imported")
        if m.size != entry["size"]:
            raise IntegrityError(f"archive member {rel!r} holds {m.size} bytes but its manifest declares "
                                 f"{entry['size']}; refused before extracting it")
        sha = self._write(safe_join(self.staging, rel, what="archive member"), reader, syncer)
        if sha != entry["sha256"]:
            raise IntegrityError(f"archive {kind} {item.info['name']}:{item.info['version']} does not match its "
                                 f"manifest: altered file {inner} (sha256 differs); nothing was imported")
        item.done.add(inner)

    def _manifest(self, prefix: str, kind: str, m: tarfile.TarInfo, reader: IO[bytes]) -> None:
        if prefix in self.items:
            raise UnsafePath(f"archive member {m.name!r} appears twice; refused")
        if m.size > MANIFEST_LIMIT:
            raise IntegrityError(f"archive member {m.name!r} is {space.human(m.size)}; a manifest is at most "
                                 f"{space.human(MANIFEST_LIMIT)}; refused")
        data = reader.read(m.size)
        info = _manifest.loads(data, f"archive member {m.name}")
        listed = check_manifest(info, prefix, kind)
        item = Unpacked(kind, prefix, info, left=dict(listed))
        self.items[prefix] = item
        total = int(info["size"])
        self.declared += total
        # This manifest spent the allowance for one manifest; a bento archive may hold more (its models').
        self.budget.limit += (len(data) - MANIFEST_LIMIT + total + MEMBER_OVERHEAD * (len(listed) + 1)
                              + (MANIFEST_LIMIT if self.kind == "bento" else 0))
        space.ensure_room(self.home, self.declared - self.written + len(data), self._what())
        target = self.staging / prefix / f"{kind}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        durable.write_synced(target, data)

    def _write(self, target: Path, reader: IO[bytes], syncer: durable.Syncer) -> str:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise UnsafePath(f"archive member {target.relative_to(self.staging)} is nested under a file; refused") from None
        h = hashlib.sha256()
        # One thread: measured faster than overlapping hash/write on helper threads on 2 busy cores.
        with open(target, "xb") as out:
            while True:
                chunk = reader.read(CHUNK)
                if not chunk:
                    break
                h.update(chunk)
                out.write(chunk)
                self.written += len(chunk)
                if self.progress is not None:
                    self.progress(len(chunk))
            out.flush()
            syncer.add_fd(os.dup(out.fileno()))
        return h.hexdigest()
