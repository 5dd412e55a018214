"""The read-only view of a stored item that :class:`bento.models.Model` and :class:`bento.bentos.Bento`
share: tag parts, paths and the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bento.store.item import Item


class StoredItem:
    """A stored version; its files are read-only by convention (write a new version instead)."""

    def __init__(self, item: Item) -> None:
        self._item = item

    @property
    def item(self) -> Item:
        return self._item

    @property
    def tag(self) -> str:
        return self._item.tag

    @property
    def name(self) -> str:
        return self._item.name

    @property
    def version(self) -> str:
        return self._item.version

    @property
    def path(self) -> Path:
        return self._item.path

    def path_of(self, rel: str) -> Path:
        """Absolute path of a file inside the item (refuses paths that would leave it)."""
        return self._item.path_of(rel)

    @property
    def info(self) -> dict[str, Any]:
        """The manifest: labels, metadata, size, creation_time, files, and the item's own keys."""
        return self._item.info

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tag={self.tag!r}, path={str(self.path)!r})"
