"""``bentoml.transformers``: a Hugging Face ``Pipeline`` (or a pretrained model/tokenizer/processor) saved
with ``save_pretrained``; ``load_model`` rebuilds the pipeline for its task."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

from bento.frameworks import _common
from bento.models import Model

TASK_FILE = "bento_task.json"


def _save(transformers: ModuleType, model: Any, path: Path) -> None:
    if not hasattr(model, "save_pretrained"):
        raise _common.InvalidArgument("bentoml.transformers.save_model takes a transformers Pipeline or an object "
                                      f"with save_pretrained(), not {type(model).__name__}")
    model.save_pretrained(str(path))
    task = getattr(model, "task", None)
    (path / TASK_FILE).write_text(json.dumps({"task": task, "pipeline": isinstance(model, transformers.Pipeline),
                                              "class": type(model).__name__}))


def _load(transformers: ModuleType, model: Model, kwargs: Mapping[str, Any]) -> Any:
    info = json.loads(model.path_of(TASK_FILE).read_text())
    if info.get("pipeline"):
        return transformers.pipeline(info.get("task"), model=str(model.path), **dict(kwargs))
    cls = getattr(transformers, str(info.get("class")), None) or transformers.AutoModel
    return cls.from_pretrained(str(model.path), **dict(kwargs))


FRAMEWORK = _common.Framework("transformers", "transformers", "transformers", {"__call__": {"batchable": False}},
                              _save, _load)


def save_model(name: str, pipeline: Any, task_name: str | None = None, task_definition: Any = None, *,
               signatures: Mapping[str, Any] | None = None, labels: Mapping[str, Any] | None = None,
               custom_objects: Mapping[str, Any] | None = None, external_modules: list[ModuleType] | None = None,
               metadata: Mapping[str, Any] | None = None) -> Model:
    """Save a pipeline (or pretrained object) as a new version of ``name`` (default signature: ``__call__``).

    ``task_definition`` (a custom pipeline task) is not supported: register the task in the service instead.
    """
    if task_definition is not None:
        raise _common.InvalidArgument("task_definition is not supported; register custom pipelines in the service")
    if task_name is not None and getattr(pipeline, "task", task_name) != task_name:
        raise _common.InvalidArgument(f"task_name {task_name!r} differs from the pipeline's task {pipeline.task!r}")
    return _common.save_model(FRAMEWORK, name, pipeline, signatures=signatures, labels=labels,
                              custom_objects=custom_objects, external_modules=external_modules, metadata=metadata)


def load_model(bento_model: str | Model, **kwargs: Any) -> Any:
    """The pipeline (keyword arguments go to ``transformers.pipeline`` / ``from_pretrained``)."""
    return _common.load_model(FRAMEWORK, bento_model, **kwargs)


def get(tag_like: str | Model) -> Model:
    return _common.get(tag_like)
