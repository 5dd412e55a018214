"""The staging directory handed to ``ItemStore.create``: the caller writes files, the store publishes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bento.store import manifest as _manifest
from bento.core.errors import InvalidArgument
from bento.store.paths import safe_join

if TYPE_CHECKING:
    from bento.store.item import Item


class Staged:
    """A not-yet-published item. Write files under ``path``; after a clean ``with`` exit ``item`` is set.

    ``existed`` is True when the explicit version was already stored with identical content.
    """

    def __init__(self, kind: str, name: str, version: str, path: Path) -> None:
        self.kind = kind
        self.name = name
        self.version = version
        self.path = path
        self.item: Item | None = None
        self.existed = False

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.version}"

    def path_of(self, rel: str) -> Path:
        """``path / rel`` with its parent directories created; refuses paths that would leave the item."""
        target = safe_join(self.path, rel, what=f"file name in {self.kind} {self.tag}")
        if target.name == f"{self.kind}.yaml" and target.parent == self.path.resolve():
            raise InvalidArgument(f"{self.kind}.yaml is reserved for the manifest; choose another file name")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    @property
    def info(self) -> dict[str, Any]:
        if self.item is None:
            raise InvalidArgument(f"{self.kind} {self.tag} is not published yet; read .info after the with block")
        return self.item.info


def materialize_links(root: Path) -> None:
    """Replace symbolic links under ``root`` by copies of what they point to (e.g. a Hugging Face cache).

    Items hold regular files only, so that hashes, archives and copies mean the same thing everywhere.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for entry in [*dirnames, *filenames]:
            p = base / entry
            if not p.is_symlink():
                continue
            rel = p.relative_to(root).as_posix()
            target = p.resolve()
            if not target.exists():
                raise InvalidArgument(f"{rel} is a broken symbolic link (to {os.readlink(p)}); remove it or copy the file in")
            p.unlink()
            if target.is_dir():
                shutil.copytree(target, p, symlinks=False)
            else:
                shutil.copyfile(target, p)
        # os.walk lists the copied directories' contents on the next iterations


def check_staged_tree(root: Path, manifest_name: str) -> list[str]:
    """The regular files to hash; raise on a manifest-name clash or special files (fifos, sockets)."""
    if (root / manifest_name).exists():
        raise InvalidArgument(f"{manifest_name} is reserved for the manifest; choose another file name")
    files, odd = _manifest.scan_files(root, manifest_name)
    if odd:
        raise InvalidArgument(f"only regular files can be stored; remove {', '.join(odd[:5])}")
    return files
