"""Bentos in the local store (``$BENTO_HOME/bentos``): the output of ``bento build``.

    bento = bento.bentos.get("iris_classifier:latest")
    bento.bentos.export_bento("iris_classifier:latest", "/tmp/")    # models referenced travel along
"""

from __future__ import annotations

import builtins
import os

from bento.store import open_store
from bento.store.manifest import Progress
from bento.stored import StoredItem

__all__ = ["Bento", "delete", "export_bento", "get", "import_bento", "list", "pull", "push"]


class Bento(StoredItem):
    """A stored bento version (read-only)."""

    @property
    def models(self) -> builtins.list[str]:
        """Tags of the models this bento references."""
        return [str(ref.get("tag")) for ref in self._item.info.get("models") or [] if isinstance(ref, dict)]


def get(tag: str) -> Bento:
    """Raises NotFound, or IntegrityError if the bento's files were changed since it was stored."""
    return Bento(open_store().bentos.get_checked(tag))


def list(name: str | None = None) -> builtins.list[Bento]:  # noqa: A001 - mirrors `bento list`
    """Every stored bento (of ``name`` if given), newest first."""
    return [Bento(item) for item in open_store().bentos.list(name)]


def delete(tag: str) -> None:
    """Delete one bento version (the models it references stay)."""
    open_store().bentos.delete(tag)


def export_bento(tag: str, path_or_url: str | os.PathLike[str], *, compression: str = "zstd",
                 include_models: bool = True, progress: Progress | None = None) -> str:
    """Write a ``.bento`` archive (with the models it references) to a file, directory or fsspec URL."""
    from bento.store import transfer

    return transfer.export(open_store(), "bento", tag, path_or_url, compression=compression,
                           include_models=include_models, progress=progress)


def import_bento(path_or_url: str | os.PathLike[str], *, progress: Progress | None = None) -> Bento:
    """Import a ``.bento`` archive and the models it carries, verifying every file."""
    from bento.store import transfer

    item, _ = transfer.import_archive(open_store(), "bento", path_or_url, progress=progress)
    return Bento(item)


def push(tag: str, url: str, *, progress: Progress | None = None) -> str:
    """Copy a bento and its models to the remote store at an fsspec URL."""
    from bento.store import transfer

    return transfer.push(open_store(), "bento", tag, url, progress=progress)


def pull(tag: str, url: str, *, progress: Progress | None = None) -> Bento:
    """Copy a bento and its models from the remote store at ``url``."""
    from bento.store import transfer

    item, _ = transfer.pull(open_store(), "bento", tag, url, progress=progress)
    return Bento(item)
