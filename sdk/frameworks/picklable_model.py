"""``bentoml.picklable_model``: any picklable Python object (cloudpickle when installed, else pickle)."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

from bento.frameworks import _common
from bento.models import Model

MODEL_FILE = "saved_model.pkl"


def _pickler() -> Any:
    if importlib.util.find_spec("cloudpickle") is not None:  # pickles lambdas and local classes too
        import cloudpickle

        return cloudpickle
    return pickle


def _save(lib: ModuleType, model: Any, path: Path) -> None:
    with open(path / MODEL_FILE, "wb") as fh:
        _pickler().dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _load(lib: ModuleType, model: Model, kwargs: Mapping[str, Any]) -> Any:
    with open(model.path_of(MODEL_FILE), "rb") as fh:
        return pickle.load(fh)  # cloudpickle output loads with the standard unpickler


FRAMEWORK = _common.Framework("picklable_model", "pickle", "(standard library)",
                              {"__call__": {"batchable": False}}, _save, _load)


def save_model(name: str, model: Any, *, signatures: Mapping[str, Any] | None = None,
               labels: Mapping[str, Any] | None = None, custom_objects: Mapping[str, Any] | None = None,
               external_modules: list[ModuleType] | None = None, metadata: Mapping[str, Any] | None = None) -> Model:
    """Pickle ``model`` as a new version of ``name`` (default signature: ``__call__``)."""
    return _common.save_model(FRAMEWORK, name, model, signatures=signatures, labels=labels,
                              custom_objects=custom_objects, external_modules=external_modules, metadata=metadata)


def load_model(bento_model: str | Model) -> Any:
    return _common.load_model(FRAMEWORK, bento_model)


def get(tag_like: str | Model) -> Model:
    return _common.get(tag_like)
