"""``bentoml.pytorch``: a whole ``torch.nn.Module`` saved with ``torch.save`` (``saved_model.pt``)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

from bento.frameworks import _common
from bento.models import Model

MODEL_FILE = "saved_model.pt"


def _save(torch: ModuleType, model: Any, path: Path) -> None:
    if not isinstance(model, torch.nn.Module):
        raise _common.InvalidArgument(f"bentoml.pytorch.save_model takes a torch.nn.Module, not {type(model).__name__}")
    torch.save(model, path / MODEL_FILE)


def _load(torch: ModuleType, model: Model, kwargs: Mapping[str, Any]) -> Any:
    device = kwargs.get("device_id") or "cpu"
    # The whole module is pickled (as BentoML does), so it cannot load with weights_only.
    loaded = torch.load(model.path_of(MODEL_FILE), map_location=device, weights_only=False)
    return loaded.eval() if kwargs.get("eval", True) else loaded


FRAMEWORK = _common.Framework("pytorch", "torch", "torch", {"__call__": {"batchable": False}}, _save, _load)


def save_model(name: str, model: Any, *, signatures: Mapping[str, Any] | None = None,
               labels: Mapping[str, Any] | None = None, custom_objects: Mapping[str, Any] | None = None,
               external_modules: list[ModuleType] | None = None, metadata: Mapping[str, Any] | None = None) -> Model:
    """Save a module as a new version of ``name`` (default signature: ``__call__``)."""
    return _common.save_model(FRAMEWORK, name, model, signatures=signatures, labels=labels,
                              custom_objects=custom_objects, external_modules=external_modules, metadata=metadata)


def load_model(bento_model: str | Model, device_id: str | None = "cpu", *, eval: bool = True) -> Any:  # noqa: A002
    """The module, on ``device_id`` (``"cpu"``, ``"cuda:0"``), in eval mode unless ``eval=False``."""
    return _common.load_model(FRAMEWORK, bento_model, device_id=device_id, eval=eval)


def get(tag_like: str | Model) -> Model:
    return _common.get(tag_like)
