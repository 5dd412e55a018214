"""The local store of models and bentos: versioned, atomic, verifiable, portable.

    from bento.store import open_store
    store = open_store()                      # $BENTO_HOME or ~/bento
    with store.models.create("iris") as m:    # write files under m.path, published atomically on exit
        ...
    item = store.models.get("iris:latest")    # Item: .tag .path .path_of() .info .digest

This layer imports nothing outside ``bento.store``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bento.store.paths import default_home

if TYPE_CHECKING:
    from bento.store.item import Item
    from bento.store.items import ItemStore
    from bento.store.staging import Staged

__all__ = ["Item", "ItemStore", "Staged", "Store", "open_store"]

# Loaded on first use: `bento.errors` imports `bento.core.errors`, which runs this file, and every
# `bento serve` cold start pays for what is imported here (YAML, hashing, locking).
_LAZY = {"Item": "bento.store.item", "ItemStore": "bento.store.items", "Staged": "bento.store.staging"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'bento.store' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


class Store:
    """One store home with its ``models`` and ``bentos``."""

    def __init__(self, root: Path) -> None:
        from bento.store.items import ItemStore

        self.root = root
        self.bentos = ItemStore(root, "bento")
        self.models = ItemStore(root, "model", referrers=self._bentos_using)

    def _bentos_using(self, model: Item) -> list[str]:
        users = []
        for bento in self.bentos.list():
            refs = bento.info.get("models") or []
            if any(isinstance(r, dict) and r.get("tag") == model.tag for r in refs):
                users.append(f"bento {bento.tag}")
        return users

    def models_of(self, bento: Item) -> list[Item]:
        """The stored models a bento references, checked against the digests it recorded."""
        from bento.core.errors import IntegrityError, InvalidArgument

        out = []
        for ref in bento.info.get("models") or []:
            if not isinstance(ref, dict) or "tag" not in ref:
                raise InvalidArgument(f"bento {bento.tag}: models entry {ref!r} has no 'tag'")
            model = self.models.get(str(ref["tag"]))
            if ref.get("digest") and model.digest != ref["digest"]:
                raise IntegrityError(f"bento {bento.tag} was built with model {ref['tag']} digest "
                                     f"{str(ref['digest'])[:12]}, but the stored one has {model.digest[:12]}")
            out.append(model)
        return out

    def __repr__(self) -> str:
        return f"<Store {self.root}>"


def open_store(root: Path | str | None = None) -> Store:
    """The store at ``root``, else ``$BENTO_HOME``, else ``~/bento`` (created on first write)."""
    return Store((Path(root).expanduser() if root is not None else default_home()).absolute())
