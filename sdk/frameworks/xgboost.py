"""``bentoml.xgboost``: an ``xgboost.Booster`` (or a scikit-learn-API ``XGBModel``), in XGBoost's own
format (``saved_model.ubj``), so it loads with any later XGBoost."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

from bento.frameworks import _common
from bento.models import Model

MODEL_FILE = "saved_model.ubj"


def _save(xgb: ModuleType, model: Any, path: Path) -> None:
    if not isinstance(model, (xgb.Booster, xgb.XGBModel)):
        raise _common.InvalidArgument(f"bentoml.xgboost.save_model takes an xgboost.Booster or XGBModel, "
                                      f"not {type(model).__name__}")
    model.save_model(str(path / MODEL_FILE))


def _load(xgb: ModuleType, model: Model, kwargs: Mapping[str, Any]) -> Any:
    module, _, cls = str(model.info.get("object_type", "")).rpartition(".")
    if module.startswith("xgboost") and cls != "Booster" and isinstance(getattr(xgb, cls, None), type):
        estimator = getattr(xgb, cls)()  # XGBClassifier & co. come back as themselves
        estimator.load_model(str(model.path_of(MODEL_FILE)))
        return estimator
    booster = xgb.Booster(params=dict(kwargs.get("params") or {}) or None)
    booster.load_model(str(model.path_of(MODEL_FILE)))
    return booster


FRAMEWORK = _common.Framework("xgboost", "xgboost", "xgboost", {"predict": {"batchable": False}}, _save, _load)


def save_model(name: str, model: Any, *, signatures: Mapping[str, Any] | None = None,
               labels: Mapping[str, Any] | None = None, custom_objects: Mapping[str, Any] | None = None,
               external_modules: list[ModuleType] | None = None, metadata: Mapping[str, Any] | None = None) -> Model:
    """Save a trained Booster or XGBModel as a new version of ``name`` (default signature: ``predict``)."""
    return _common.save_model(FRAMEWORK, name, model, signatures=signatures, labels=labels,
                              custom_objects=custom_objects, external_modules=external_modules, metadata=metadata)


def load_model(bento_model: str | Model, params: Mapping[str, Any] | None = None) -> Any:
    """The saved model: an ``xgboost.Booster`` (with ``params``), or the XGBModel class it was saved as."""
    return _common.load_model(FRAMEWORK, bento_model, params=params)


def get(tag_like: str | Model) -> Model:
    return _common.get(tag_like)
