"""Models in the local store (``$BENTO_HOME/models``), for training scripts and services.

    with bento.models.create("iris_sklearn", labels={"team": "ml"}) as m:
        joblib.dump(clf, m.path_of("model.joblib"))
    model = bento.models.get("iris_sklearn:latest")
    clf = joblib.load(model.path_of("model.joblib"))

A service can hold a model as a class attribute (``iris_model = bento.models.get("iris_sklearn:latest")``);
``bento build`` records it and packs it into the bento.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import pickle
from pathlib import Path
from typing import Any, Iterator, Mapping

from bento.store import Staged, open_store
from bento.core.errors import InvalidArgument
from bento.store.manifest import Progress
from bento.stored import StoredItem

from bento.model_sources import BentoModel, HuggingFaceModel  # noqa: E402  (class-attribute references)

__all__ = ["BentoModel", "HuggingFaceModel", "Model", "create", "delete", "export_model", "get", "import_model", "list", "pull", "push", "save_model"]

PICKLE_FILE = "saved_model.pkl"


class Model(StoredItem):
    """A stored model version. Its files are read-only by convention; write a new version instead."""

    __bento_model__ = True

    @property
    def labels(self) -> dict[str, Any]:
        return self._item.labels

    @property
    def metadata(self) -> dict[str, Any]:
        return self._item.metadata

    @property
    def signatures(self) -> dict[str, Any]:
        return dict(self._item.info.get("signatures") or {})

    @property
    def digest(self) -> str:
        return self._item.digest

    @property
    def custom_objects(self) -> dict[str, Any]:
        """The ``custom_objects`` given to a framework module's ``save_model`` (BentoML's tokenizer & co.)."""
        from bento.frameworks._common import custom_objects_of

        return custom_objects_of(self)

    def load_model(self) -> Any:
        """Unpickle an object saved with :func:`save_model` (after checking the file was not altered), or
        load it with the framework module it was saved with (``bento.sklearn.save_model`` ...)."""
        framework = self.info.get("framework")
        if isinstance(framework, str):
            from bento.frameworks._common import framework_of

            return framework_of(framework).load_model(self)
        if self.info.get("saved_with") != "pickle":
            raise InvalidArgument(f"model {self.tag} was not saved with bento.models.save_model; "
                                  f"load its files from {self.path} (see .info['files'])")
        self._item.check(deep=False)
        with open(self.path_of(PICKLE_FILE), "rb") as f:
            return pickle.load(f)

    def to_runner(self) -> Any:
        from bento.runner import Runner  # type: ignore[import-not-found,unused-ignore]

        return Runner.from_model(self)

    def __repr__(self) -> str:  # as BentoML prints a model
        return f'Model(tag="{self.tag}", path="{self.path}")'

    def __str__(self) -> str:
        return self.tag

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self._item == other._item

    def __hash__(self) -> int:
        return hash(self._item)


class _Creating:
    """What ``create`` yields: a staged model (``path``, ``path_of``) that becomes a Model on exit."""

    def __init__(self, staged: Staged) -> None:
        self._staged = staged

    @property
    def tag(self) -> str:
        return self._staged.tag

    @property
    def name(self) -> str:
        return self._staged.name

    @property
    def version(self) -> str:
        return self._staged.version

    @property
    def path(self) -> Path:
        return self._staged.path

    def path_of(self, rel: str) -> Path:
        """Where to write ``rel`` (parent directories are created)."""
        return self._staged.path_of(rel)

    @property
    def model(self) -> Model:
        """The published model (after the ``with`` block)."""
        if self._staged.item is None:
            raise InvalidArgument(f"model {self.tag} is published when the with block ends")
        return Model(self._staged.item)

    @property
    def info(self) -> dict[str, Any]:
        return self.model.info


@contextlib.contextmanager
def create(name: str, *, labels: Mapping[str, Any] | None = None, metadata: Mapping[str, Any] | None = None,
           version: str | None = None, extra: Mapping[str, Any] | None = None,
           home: str | os.PathLike[str] | None = None) -> Iterator[_Creating]:
    """Write a new model version: files under ``m.path`` become visible atomically when the block ends.

    If the block raises, nothing is stored and the exception propagates.
    """
    store = open_store(Path(home) if home is not None else None)
    with store.models.create(name, version=version, labels=_dict(labels, "labels"),
                             metadata=_dict(metadata, "metadata"), extra=_dict(extra, "extra")) as staged:
        yield _Creating(staged)


def save_model(name: str, obj: Any, signatures: Mapping[str, Any] | None = None, labels: Mapping[str, Any] | None = None,
               metadata: Mapping[str, Any] | None = None) -> Model:
    """Pickle ``obj`` into a new model version; ``signatures`` (e.g. ``{"predict": {"batchable": True}}``)
    go into the manifest for runners. Load it back with ``get(tag).load_model()``."""
    sigs = _signatures(signatures)
    extra = {"saved_with": "pickle", "object_type": f"{type(obj).__module__}.{type(obj).__qualname__}",
             "signatures": sigs}
    with create(name, labels=labels, metadata=metadata, extra=extra) as m:
        with open(m.path_of(PICKLE_FILE), "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
    return m.model


def get(tag: str) -> Model:
    """``name``, ``name:latest``, ``name:version`` or a unique version prefix; NotFound names the store.

    Raises IntegrityError if the model's files were changed since it was saved (cheap when they were not).
    While a bento is served, ``tag`` resolves to the version the bento recorded (``bento.store.pins``).
    """
    from bento.store import pins

    store = open_store()
    record = pins.active()
    if record is not None:
        return Model(record.resolve(store, tag))
    return Model(store.models.get_checked(tag))


def list(name: str | None = None) -> builtins.list[Model]:  # noqa: A001 - mirrors `bento models list`
    """Every stored model (of ``name`` if given), newest first."""
    return [Model(item) for item in open_store().models.list(name)]


def delete(tag: str, *, force: bool = False) -> None:
    """Delete one version; refused while a stored bento references it unless ``force``."""
    open_store().models.delete(tag, force=force)


def verify(tag: str) -> builtins.list[str]:
    """Recompute every hash of a model; the problems found (empty when intact)."""
    return open_store().models.verify(tag)


def export_model(tag: str, path_or_url: str | os.PathLike[str], *, compression: str = "zstd",
                 progress: Progress | None = None) -> str:
    """Write a ``.bentomodel`` archive to a file, a directory or an fsspec URL; returns where it went."""
    from bento.store import transfer

    return transfer.export(open_store(), "model", tag, path_or_url, compression=compression, progress=progress)


def import_model(path_or_url: str | os.PathLike[str], *, progress: Progress | None = None) -> Model:
    """Import a ``.bentomodel`` archive (verified; a no-op when the same content is already stored)."""
    from bento.store import transfer

    item, _ = transfer.import_archive(open_store(), "model", path_or_url, progress=progress)
    return Model(item)


def push(tag: str, url: str, *, progress: Progress | None = None) -> str:
    """Copy a model to the remote store at an fsspec URL (``s3://bucket/prefix``, ``file:///srv/store``)."""
    from bento.store import transfer

    return transfer.push(open_store(), "model", tag, url, progress=progress)


def pull(tag: str, url: str, *, progress: Progress | None = None) -> Model:
    """Copy a model from the remote store at ``url`` into the local store."""
    from bento.store import transfer

    item, _ = transfer.pull(open_store(), "model", tag, url, progress=progress)
    return Model(item)


def _dict(value: Mapping[str, Any] | None, what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{what} must be a dict, not {type(value).__name__}")
    return dict(value)


def _signatures(signatures: Mapping[str, Any] | None) -> dict[str, Any]:
    if signatures is None:
        return {}
    if not isinstance(signatures, Mapping):
        raise InvalidArgument("signatures must be a dict like {'predict': {'batchable': True, 'batch_dim': 0}}")
    out: dict[str, Any] = {}
    for method, options in signatures.items():
        if not isinstance(method, str) or not method.isidentifier():
            raise InvalidArgument(f"signatures: {method!r} is not a method name")
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            raise InvalidArgument(f"signatures[{method!r}] must be a dict like {{'batchable': True}}")
        unknown = sorted(set(options) - {"batchable", "batch_dim", "input_spec", "output_spec"})
        if unknown:
            raise InvalidArgument(f"signatures[{method!r}]: unknown option(s) {unknown}; "
                                  "known: batchable, batch_dim")
        out[method] = dict(options)
    return out
