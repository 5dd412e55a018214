"""``bentoml.lightgbm``: a ``lightgbm.Booster`` in LightGBM's text format (``saved_model.txt``); a
scikit-learn-API ``LGBMModel`` is pickled with joblib (``saved_model.pkl``) so it comes back as itself."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

from bento.frameworks import _common
from bento.models import Model

BOOSTER_FILE = "saved_model.txt"
ESTIMATOR_FILE = "saved_model.pkl"


def _save(lgb: ModuleType, model: Any, path: Path) -> None:
    if isinstance(model, lgb.Booster):
        model.save_model(str(path / BOOSTER_FILE))
    elif isinstance(model, lgb.LGBMModel):
        import joblib

        joblib.dump(model, path / ESTIMATOR_FILE)
    else:
        raise _common.InvalidArgument(f"bentoml.lightgbm.save_model takes a lightgbm.Booster or LGBMModel, "
                                      f"not {type(model).__name__}")


def _load(lgb: ModuleType, model: Model, kwargs: Mapping[str, Any]) -> Any:
    if (model.path / BOOSTER_FILE).is_file():
        return lgb.Booster(model_file=str(model.path_of(BOOSTER_FILE)))
    import joblib

    return joblib.load(model.path_of(ESTIMATOR_FILE))


FRAMEWORK = _common.Framework("lightgbm", "lightgbm", "lightgbm", {"predict": {"batchable": False}},
                              _save, _load)


def save_model(name: str, model: Any, *, signatures: Mapping[str, Any] | None = None,
               labels: Mapping[str, Any] | None = None, custom_objects: Mapping[str, Any] | None = None,
               external_modules: list[ModuleType] | None = None, metadata: Mapping[str, Any] | None = None) -> Model:
    """Save a trained Booster or LGBMModel as a new version of ``name`` (default signature: ``predict``)."""
    return _common.save_model(FRAMEWORK, name, model, signatures=signatures, labels=labels,
                              custom_objects=custom_objects, external_modules=external_modules, metadata=metadata)


def load_model(bento_model: str | Model) -> Any:
    return _common.load_model(FRAMEWORK, bento_model)


def get(tag_like: str | Model) -> Model:
    return _common.get(tag_like)
