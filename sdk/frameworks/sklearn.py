"""``bentoml.sklearn``: scikit-learn estimators, saved with joblib (``saved_model.pkl``)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

from bento.frameworks import _common
from bento.models import Model

MODEL_FILE = "saved_model.pkl"


def _save(sklearn: ModuleType, model: Any, path: Path) -> None:
    import joblib  # a dependency of scikit-learn

    joblib.dump(model, path / MODEL_FILE)


def _load(sklearn: ModuleType, model: Model, kwargs: Mapping[str, Any]) -> Any:
    import joblib

    return joblib.load(model.path_of(MODEL_FILE))


FRAMEWORK = _common.Framework("sklearn", "sklearn", "scikit-learn", {"predict": {"batchable": False}},
                              _save, _load)


def save_model(name: str, model: Any, *, signatures: Mapping[str, Any] | None = None,
               labels: Mapping[str, Any] | None = None, custom_objects: Mapping[str, Any] | None = None,
               external_modules: list[ModuleType] | None = None, metadata: Mapping[str, Any] | None = None) -> Model:
    """Save a fitted estimator or pipeline as a new version of ``name`` (default signature: ``predict``)."""
    return _common.save_model(FRAMEWORK, name, model, signatures=signatures, labels=labels,
                              custom_objects=custom_objects, external_modules=external_modules, metadata=metadata)


def load_model(bento_model: str | Model) -> Any:
    """The estimator saved as ``bento_model`` (a tag or a Model)."""
    return _common.load_model(FRAMEWORK, bento_model)


def get(tag_like: str | Model) -> Model:
    """The stored model (``.to_runner()``, ``.custom_objects``, ``.info``)."""
    return _common.get(tag_like)
