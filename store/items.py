"""``ItemStore``: the versions of one kind of item (models or bentos) under ``<home>/<kind>s/``.

Layout: ``<kind>s/<name>/<version>/`` (files + ``<kind>.yaml``), ``<kind>s/<name>/latest`` (the newest
version, a one-line file) and ``<kind>s/<name>/.lock``. Items are staged under ``<home>/.tmp`` (same
filesystem), published with one ``os.rename`` and ``latest`` is rewritten (``os.replace``) under the
name's lock after the rename, so readers never see a partial item and ``latest`` never names one.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as _dt
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

from bento.store import durable, manifest as _manifest
from bento.core.errors import AlreadyExists, IntegrityError, InvalidArgument, NotFound
from bento.store.item import Item
from bento.store.locking import file_lock
from bento.store.paths import atomic_write, safe_join
from bento.store.scratch import scratch_dir
from bento.store.staging import Staged, check_staged_tree, materialize_links
from bento.store.tags import LATEST, Tag, check_component, check_version, new_version

TOOL_VERSION = "0.1.0"
Referrers = Callable[[Item], builtins.list[str]]


def creation_time(*, reproducible: bool) -> _dt.datetime:
    """Now in UTC (``SOURCE_DATE_EPOCH`` instead when ``reproducible``)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH") if reproducible else None
    if epoch:
        try:
            when = _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
        except ValueError:
            raise InvalidArgument(f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds") from None
    else:
        when = _dt.datetime.now(_dt.timezone.utc)
    return when


# What to do about a missing item, by kind (appended to the NotFound message).
_HOW_TO_GET = {
    "model": "; list the stored models with `bento models list`, or save it first by running the training "
             "script that calls bento.models.save_model()/create() (e.g. `python train.py`)",
    "bento": "; list the built bentos with `bento list`, or build it with `bento build`",
}


class ItemStore:
    """Models (``kind="model"``) or bentos (``kind="bento"``) of one store home."""

    def __init__(self, home: Path, kind: str, referrers: Referrers | None = None) -> None:
        self.home = home
        self.kind = kind
        self.dir = home / f"{kind}s"
        self.manifest_name = f"{kind}.yaml"
        self._referrers = referrers

    # ---- reading -------------------------------------------------------------------------------
    def get(self, tag: str) -> Item:
        """Resolve ``name``, ``name:latest``, ``name:version`` or a unique version prefix."""
        parsed = Tag.parse(tag)
        name_dir = self.dir / parsed.name
        version = self._resolve(parsed, name_dir, tag)
        return Item(self.kind, parsed.name, version, name_dir / version)

    def exists(self, tag: str) -> bool:
        try:
            self.get(tag)
        except NotFound:
            return False
        return True

    def list(self, name: str | None = None) -> builtins.list[Item]:
        """Every stored item (of one name if given), newest first."""
        if name is not None:
            names = [Tag.parse(name).name]
        else:
            try:
                names = sorted(e.name for e in os.scandir(self.dir) if e.is_dir() and not e.name.startswith("."))
            except FileNotFoundError:
                return []
        items = []
        for n in names:
            for version in self._versions(self.dir / n):
                item = Item(self.kind, n, version, self.dir / n / version)
                try:
                    item.info
                except IntegrityError:
                    continue  # shown by `verify`; a listing stays usable
                items.append(item)
        return sorted(items, key=self._sort_key, reverse=True)

    def verify(self, tag: str, progress: _manifest.Progress | None = None) -> builtins.list[str]:
        """Recompute every hash; return the problems found (missing, extra, altered files), empty if intact."""
        item = self.get(tag)
        found = item.problems(deep=True, progress=progress)
        if not found:
            self._remember_stat(item)
        return found

    def get_checked(self, tag: str) -> Item:
        """``get`` for code about to use the files (load, build, serve): raises IntegrityError if altered.

        Cheap when nothing changed: the size and mtime of every file are compared with those
        recorded when the item was published or last verified; any difference triggers a full re-hash.
        """
        item = self.get(tag)
        if _stat_of(item) != self._recorded_stat(item):
            found = item.problems(deep=True)
            if found:
                hint = (f"run `bento models verify {item.tag}` for details" if self.kind == "model"
                        else "rebuild it or import it again")
                raise IntegrityError(f"{self.kind} {item.tag} at {item.path} was altered since it was saved: "
                                     f"{'; '.join(found[:3])}{' ...' if len(found) > 3 else ''} ({hint})")
            self._remember_stat(item)
        return item

    def referrers(self, item: Item) -> builtins.list[str]:
        """Tags of the stored items that reference ``item`` (bentos that pack a model)."""
        return self._referrers(item) if self._referrers is not None else []

    # ---- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def create(self, name: str, *, version: str | None = None, labels: dict[str, Any] | None = None,
               metadata: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
               progress: _manifest.Progress | None = None) -> Iterator[Staged]:
        """Stage a new item; on a clean exit hash it, write the manifest and publish it atomically."""
        check_component(name, "name")
        now = creation_time(reproducible=self.kind == "bento")
        when = now.isoformat(timespec="microseconds")  # one fixed shape, so strings sort by time
        if version is None:
            if self.kind == "bento":
                raise InvalidArgument("a bento needs an explicit version (the builder's content hash)")
            version = new_version(now)
        else:
            check_version(version, f"{name}:{version}")
        # Fail on unserialisable labels/metadata before the caller writes gigabytes.
        _manifest.dump(_manifest.build(name, version, when, labels, metadata, extra, [], TOOL_VERSION))
        what = f"saving {self.kind} {name}:{version}"
        with scratch_dir(self._tmp_root(), f"{self.kind}-{name}-", what=what) as staging:
            staged = Staged(self.kind, name, version, staging)
            yield staged
            materialize_links(staging)
            rels = check_staged_tree(staging, self.manifest_name)
            files = durable.hash_and_sync(staging, rels, progress)  # hashing overlaps the flush to disk
            info = _manifest.build(name, version, when, labels, metadata, extra, files, TOOL_VERSION)
            durable.write_synced(staging / self.manifest_name, _manifest.dump(info))
            staged.item, staged.existed = self.publish(staging, info)

    def copy_in(self, item: Item, progress: _manifest.Progress | None = None, *, sync: bool = True) -> Item:
        """Copy a complete item (e.g. from another store home) into this store, verifying every hash.

        ``sync=False`` skips flushing the files to disk, for a throwaway store (a Docker build context).
        """
        info = item.info
        check_component(str(info.get("name")), "name")
        check_version(str(info.get("version")), item.tag)
        existing = self._existing(info["name"], info["version"])
        if existing is not None and existing.digest == info.get("digest"):
            return existing
        with scratch_dir(self._tmp_root(), f"{self.kind}-{info['name']}-", what=f"copying {self.kind} {item.tag}") \
                as staging, durable.Syncer() as syncer:
            for entry in info["files"]:
                src = item.path_of(entry["path"])
                dst = safe_join(staging, entry["path"], what=f"file in {item.tag}")
                dst.parent.mkdir(parents=True, exist_ok=True)
                sha, size = _copy_hashing(src, dst, progress)
                if (sha, size) != (entry["sha256"], entry["size"]):
                    raise IntegrityError(f"{self.kind} {item.tag} at {item.path}: {entry['path']} does not match its "
                                         "manifest; the source is altered and was not copied")
                _keep_mtime(src, dst)
                if sync:
                    syncer.add_path(dst)
            if _manifest.content_digest(info["files"]) != info.get("digest"):
                raise IntegrityError(f"{self.kind} {item.tag}: manifest digest does not match its file list")
            shutil.copyfile(item.manifest_path, staging / self.manifest_name)
            # Copies keep their source's times (like `cp -p`): the size/mtime record of the copy is then the
            # same every time the same item is copied, so a Docker build context holding it stays cacheable.
            _keep_mtime(item.manifest_path, staging / self.manifest_name)
            if sync:
                syncer.add_path(staging / self.manifest_name)
            syncer.wait()
            published, _ = self.publish(staging, _manifest.load(staging / self.manifest_name))
            return published

    def publish(self, staging: Path, info: dict[str, Any]) -> tuple[Item, bool]:
        """Move a complete, verified staging directory (files already fsynced) into place; ``(item, existed)``.

        Identical content under the same version is a no-op; different content raises AlreadyExists.
        """
        name, version = str(info["name"]), str(info["version"])
        check_component(name, "name")
        check_version(version, f"{name}:{version}")  # `latest` is the pointer file beside the versions
        name_dir = safe_join(self.dir, name, what=f"{self.kind} name")
        target = safe_join(name_dir, version, what=f"{self.kind} version")
        fresh = not name_dir.exists()
        with file_lock(name_dir / ".lock"):
            existed = False
            if (target / self.manifest_name).is_file():
                current = Item(self.kind, name, version, target)
                if current.digest != info["digest"]:
                    raise AlreadyExists(
                        f"{self.kind} {name}:{version} already exists in {self.home} with different content "
                        f"(digest {current.digest[:12]} vs {str(info['digest'])[:12]}); delete it first or use "
                        "another version")
                existed = True
            else:
                if target.exists():  # a leftover without manifest is never a published item
                    shutil.rmtree(target)
                os.chmod(staging, 0o755)
                durable.fsync_tree_dirs(staging)  # every file's directory entry, before it is visible
                os.rename(staging, target)
                durable.fsync_dir(name_dir)  # the rename itself
                if fresh:
                    durable.fsync_dir(self.dir)
                    durable.fsync_dir(self.home)
            os.utime(target)  # publication time breaks creation-time ties (reproducible bentos)
            item = Item(self.kind, name, version, target)
            self._maybe_set_latest(name_dir, item)
        if not existed:
            self._remember_stat(item)  # hashed a moment ago, in staging
        return item, existed

    def delete(self, tag: str, force: bool = False) -> Item:
        """Remove one item. A model that a stored bento references is kept unless ``force``."""
        item = self.get(tag)
        if not force:
            users = self.referrers(item)
            if users:
                from bento.core.errors import InUse

                raise InUse(f"{self.kind} {item.tag} is used by {', '.join(users)}; delete those first or pass --force")
        name_dir = self.dir / item.name
        with scratch_dir(self._tmp_root(), "trash-") as trash:
            with file_lock(name_dir / ".lock"):
                os.rename(item.path, trash / "item")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._stat_path(item))
                latest = _read_latest(name_dir)
                if latest in (None, item.version):
                    newest = self._newest(name_dir)
                    if newest is None:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(name_dir / LATEST)
                    else:
                        atomic_write(name_dir / LATEST, newest.encode())
        return item

    # ---- internals -----------------------------------------------------------------------------
    def _stat_path(self, item: Item) -> Path:
        return self.dir / item.name / f".stat-{item.version}.json"

    def _recorded_stat(self, item: Item) -> Any:
        try:
            return json.loads(self._stat_path(item).read_bytes())
        except (FileNotFoundError, ValueError):
            return None

    def _remember_stat(self, item: Item) -> None:
        try:
            atomic_write(self._stat_path(item), json.dumps(_stat_of(item), sort_keys=True).encode(), durable=False)
        except OSError:  # a read-only store (e.g. in an image) is re-hashed on each check instead
            pass

    def _tmp_root(self) -> Path:
        return self.home / ".tmp"  # made by scratch_dir

    def _existing(self, name: str, version: str) -> Item | None:
        path = self.dir / name / version
        return Item(self.kind, name, version, path) if (path / self.manifest_name).is_file() else None

    def _versions(self, name_dir: Path, prefix: str = "") -> builtins.list[str]:
        """Published versions (those with a manifest) under ``name_dir``, optionally by version prefix."""
        try:
            entries = [e for e in os.scandir(name_dir) if e.name.startswith(prefix) and not e.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [e.name for e in entries if e.is_dir() and os.path.isfile(os.path.join(e.path, self.manifest_name))]

    def _sort_key(self, item: Item) -> tuple[str, int, str]:
        try:
            created = item.creation_time
        except IntegrityError:
            created = ""
        try:
            mtime = os.stat(item.path).st_mtime_ns
        except FileNotFoundError:
            mtime = 0
        return created, mtime, item.version

    def _newest(self, name_dir: Path) -> str | None:
        items = [Item(self.kind, name_dir.name, v, name_dir / v) for v in self._versions(name_dir)]
        return max(items, key=self._sort_key).version if items else None

    def _maybe_set_latest(self, name_dir: Path, item: Item) -> None:
        current = _read_latest(name_dir)
        if current is not None and current != item.version and (name_dir / current / self.manifest_name).is_file():
            if self._sort_key(Item(self.kind, item.name, current, name_dir / current)) > self._sort_key(item):
                return
        atomic_write(name_dir / LATEST, item.version.encode())

    def _resolve(self, parsed: Tag, name_dir: Path, tag: str) -> str:
        where = f"{self.kind} {tag if ':' in tag else tag + ':latest'} not found in {self.home}" + _HOW_TO_GET.get(
            self.kind, "")
        if parsed.version is None:
            latest = _read_latest(name_dir)
            if latest is not None and (name_dir / latest / self.manifest_name).is_file():
                return latest
            newest = self._newest(name_dir)
            if newest is None:
                raise NotFound(where)
            return newest
        if (name_dir / parsed.version / self.manifest_name).is_file():
            return parsed.version
        matches = sorted(self._versions(name_dir, prefix=parsed.version))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidArgument(f"{self.kind} tag {tag} is ambiguous: it matches {', '.join(matches[:5])}"
                                  f"{' ...' if len(matches) > 5 else ''}; give more of the version")
        raise NotFound(where)


def _keep_mtime(src: Path, dst: Path) -> None:
    st = os.stat(src)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def _stat_of(item: Item) -> dict[str, list[int]]:
    """``{relative path: [size, mtime_ns]}`` of everything in the item directory.

    No inode: copies that keep times (``docker COPY``, ``cp -p``) stay trusted without a re-hash.
    """
    out: dict[str, list[int]] = {}
    for dirpath, dirnames, filenames in os.walk(item.path):
        for fn in [*filenames, *(d for d in dirnames if os.path.islink(os.path.join(dirpath, d)))]:
            full = os.path.join(dirpath, fn)
            st = os.lstat(full)
            out[os.path.relpath(full, item.path)] = [st.st_size, st.st_mtime_ns]
    return out


def _read_latest(name_dir: Path) -> str | None:
    try:
        text = (name_dir / LATEST).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return text or None


def _copy_hashing(src: Path, dst: Path, progress: _manifest.Progress | None) -> tuple[str, int]:
    import hashlib

    h = hashlib.sha256()
    size = 0
    buf = bytearray(_manifest.CHUNK)
    view = memoryview(buf)
    with open(src, "rb", buffering=0) as fin, open(dst, "wb", buffering=0) as fout:
        while True:
            n = fin.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            fout.write(view[:n])
            size += n
            if progress is not None:
                progress(n)
    return h.hexdigest(), size
