"""A bento serves the models it recorded: model references resolve against the bento, not the store.

``bento build`` records, for every model a service references, the exact ``name:version`` and its digest
(``bento.yaml`` → ``models``). When a bento is served, :func:`activate` installs that record for the
process, and ``bento.models.get`` resolves through it: ``iris:latest`` (or ``iris``) is the recorded
``iris`` version, a version prefix must match a recorded version, and a name the bento did not record is an
error instead of whatever the store holds today. Serving a project's source installs no record, so
references follow the store as usual.

Before anything is imported, :meth:`ModelRecord.check` proves each recorded model is in the store with the
recorded content (the store's hash check), so a missing or altered model stops the server with an error
that says how to get it back, never a silent fallback to another version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from bento.core.errors import IntegrityError, InvalidArgument, NotFound
from bento.store.tags import Tag

if TYPE_CHECKING:
    from bento.store import Store
    from bento.store.item import Item

__all__ = ["ModelRecord", "activate", "active", "deactivate"]


@dataclass(frozen=True)
class RecordedModel:
    name: str
    version: str
    digest: str | None

    @property
    def tag(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class ModelRecord:
    """The models one bento recorded at build time."""

    bento: str  # the bento's tag
    models: tuple[RecordedModel, ...]

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], where: Path | str) -> ModelRecord:
        """Read ``name``, ``version`` and ``models`` of a bento's ``bento.yaml``."""
        name, version = manifest.get("name"), manifest.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            raise InvalidArgument(f"{where} has no name/version; rebuild the bento")
        models = []
        for ref in manifest.get("models") or []:
            tag = ref.get("tag") if isinstance(ref, dict) else None
            if not isinstance(tag, str):
                raise InvalidArgument(f"{where}: models entry {ref!r} has no 'tag'; rebuild the bento")
            parsed = Tag.parse(tag)
            if parsed.version is None:
                raise InvalidArgument(f"{where}: models entry {tag!r} has no exact version; rebuild the bento")
            digest = ref.get("digest")
            models.append(RecordedModel(parsed.name, parsed.version, str(digest) if digest else None))
        return cls(f"{name}:{version}", tuple(models))

    @property
    def tags(self) -> list[str]:
        return [m.tag for m in self.models]

    def _recovery(self, model: RecordedModel) -> str:
        return (f"get it back with `bento models import <file>.bentomodel` or `bento models pull {model.tag} "
                f"<store URL>`, or import the bento again with its models (`bento import <file>.bento`)")

    def _fetch(self, store: Store, model: RecordedModel) -> Item:
        try:
            item = store.models.get_checked(model.tag)
        except NotFound:
            raise NotFound(f"bento {self.bento} was built with model {model.tag}, which is not in the store at "
                           f"{store.root}; {self._recovery(model)}") from None
        except IntegrityError as exc:
            raise IntegrityError(f"bento {self.bento} was built with model {model.tag}, but {exc}; "
                                 f"{self._recovery(model)}") from None
        if model.digest and item.digest != model.digest:
            raise IntegrityError(
                f"bento {self.bento} was built with model {model.tag} (digest {model.digest[:12]}), but the "
                f"stored {model.tag} has digest {item.digest[:12]}; {self._recovery(model)}")
        return item

    def check(self, store: Store) -> list[Item]:
        """Every recorded model, present and unaltered; raises NotFound / IntegrityError otherwise."""
        return [self._fetch(store, m) for m in self.models]

    def resolve(self, store: Store, reference: str) -> Item:
        """The recorded model a service's ``reference`` (``name``, ``name:latest``, a version or prefix) means."""
        parsed = Tag.parse(reference)
        candidates = [m for m in self.models if m.name == parsed.name]
        if not candidates:
            recorded = ", ".join(self.tags) or "none"
            raise NotFound(f"model {reference} is not recorded in bento {self.bento} (it records: {recorded}); "
                           "a served bento uses only its recorded models: reference the model in the service "
                           "or list it under `models:` in bentofile.yaml, and rebuild")
        if parsed.version is not None:
            chosen = [m for m in candidates if m.version == parsed.version] or \
                     [m for m in candidates if m.version.startswith(parsed.version)]
            if len(chosen) != 1:
                raise NotFound(f"model {reference} is not recorded in bento {self.bento} (it records "
                               f"{', '.join(m.tag for m in candidates)}); rebuild the bento to use another version")
            return self._fetch(store, chosen[0])
        if len(candidates) == 1:
            return self._fetch(store, candidates[0])
        # `latest` at build time was the newest of the versions that existed then, all of them recorded.
        items = [self._fetch(store, m) for m in candidates]
        return max(items, key=lambda item: item.creation_time)


_active: ModelRecord | None = None


def activate(record: ModelRecord) -> None:
    """From now on, this process (and the workers it forks) resolves model references through ``record``."""
    global _active
    _active = record


def deactivate() -> None:
    global _active
    _active = None


def active() -> ModelRecord | None:
    """The record of the bento being served, or None when serving source (or not serving)."""
    return _active
