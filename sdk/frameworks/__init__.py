"""Framework model modules with BentoML's API: ``bento.sklearn`` (``bentoml.sklearn``), ``bento.xgboost``...

Each module is a thin layer over :mod:`bento.models`: ``save_model(name, model, *, signatures, labels,
custom_objects, external_modules, metadata)`` writes a new model version in the framework's own format,
``load_model(tag_or_model)`` reads it back, ``get(tag)`` returns the stored :class:`bento.models.Model`
(``.to_runner()``, ``.custom_objects``). The framework itself is imported only when a function runs; when
it is missing the error says which package to install.
"""

from __future__ import annotations

NAMES = ("sklearn", "picklable_model", "xgboost", "lightgbm", "pytorch", "onnx", "transformers")
