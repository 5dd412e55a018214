"""``bentoml.onnx``: an ``onnx.ModelProto`` (``saved_model.onnx``); ``load_model`` returns the proto, and
``providers=`` gives an ``onnxruntime.InferenceSession`` instead."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

from bento.frameworks import _common
from bento.models import Model

MODEL_FILE = "saved_model.onnx"


def _save(onnx: ModuleType, model: Any, path: Path) -> None:
    if not isinstance(model, onnx.ModelProto):
        raise _common.InvalidArgument(f"bentoml.onnx.save_model takes an onnx.ModelProto, not {type(model).__name__}")
    onnx.save(model, str(path / MODEL_FILE))


def _load(onnx: ModuleType, model: Model, kwargs: Mapping[str, Any]) -> Any:
    providers = kwargs.get("providers")
    if providers is None:
        return onnx.load(str(model.path_of(MODEL_FILE)))
    ort = FRAMEWORK.imported("onnxruntime", "onnxruntime")
    return ort.InferenceSession(str(model.path_of(MODEL_FILE)), providers=list(providers),
                                sess_options=kwargs.get("session_options"))


FRAMEWORK = _common.Framework("onnx", "onnx", "onnx", {"run": {"batchable": False}}, _save, _load)


def save_model(name: str, model: Any, *, signatures: Mapping[str, Any] | None = None,
               labels: Mapping[str, Any] | None = None, custom_objects: Mapping[str, Any] | None = None,
               external_modules: list[ModuleType] | None = None, metadata: Mapping[str, Any] | None = None) -> Model:
    """Save an ONNX model as a new version of ``name`` (default signature: ``run``)."""
    return _common.save_model(FRAMEWORK, name, model, signatures=signatures, labels=labels,
                              custom_objects=custom_objects, external_modules=external_modules, metadata=metadata)


def load_model(bento_model: str | Model, *, providers: list[Any] | None = None,
               session_options: Any = None) -> Any:
    return _common.load_model(FRAMEWORK, bento_model, providers=providers, session_options=session_options)


def get(tag_like: str | Model) -> Model:
    return _common.get(tag_like)
