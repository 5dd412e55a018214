"""Bento: serve machine-learning models from Python classes, build reproducible bentos and images.

The public surface is below, grouped by role; everything else is internal. Attributes load on first
use so that ``import bento`` (and ``bento --help``) stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bento.core.version import __version__

_EXPORTS: dict[str, str] = {
    # Declaring services
    "service": "bento.core.services",
    "api": "bento.core.services",
    "task": "bento.core.services",
    "depends": "bento.dependency",
    "on_deployment": "bento.core.services",
    "on_startup": "bento.core.services",
    "on_shutdown": "bento.core.services",
    "Service": "bento.core.services",
    "runner_service": "bento.runner",
    "asgi_app": "bento.core.mounts",
    "get_current_service": "bento.core.mounts",
    "importing": "bento.core.importing",
    "images": "bento",
    # Inside an API
    "Context": "bento.core.context",
    "Cookie": "bento.core.context",
    "validators": "bento",
    # The store
    "models": "bento",
    "bentos": "bento",
    # Calling running services
    "SyncHTTPClient": "bento.client",
    "AsyncHTTPClient": "bento.client",
    # Errors
    "BentoError": "bento.errors",
}

# BentoML's names for code written against `bentoml` (see docs/coming-from-bentoml.md). Reachable as
# attributes (so the `bentoml.X` alias finds them) but not part of Bento's own surface above.
_FRAMEWORKS = ("sklearn", "picklable_model", "xgboost", "lightgbm", "pytorch", "onnx", "transformers")
_BENTOML_NAMES: dict[str, str] = {
    **{name: f"bento.frameworks.{name}" for name in _FRAMEWORKS},
    "exceptions": "bento.exceptions",
    "Tag": "bento.compat",
    "Field": "bento.compat",
    "IODescriptor": "bento.compat",
    "server_context": "bento.core.server_info",
    "use_arguments": "bento.core.server_info",
}

_BENTOML_MODULES = frozenset([*_FRAMEWORKS, "exceptions"])

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from bento import bentos, models, validators
    from bento.client import AsyncHTTPClient, SyncHTTPClient
    from bento.core.context import Context, Cookie
    from bento.errors import BentoError
    from bento import images
    from bento.core.importing import importing
    from bento.core.mounts import asgi_app, get_current_service
    from bento.runner import runner_service
    from bento.dependency import depends
    from bento.core.services import Service, api, on_deployment, on_shutdown, on_startup, service, task


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name) or _BENTOML_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'bento' has no attribute {name!r}")
    if name in _BENTOML_MODULES:  # a module of its own: bento.frameworks.sklearn, bento.exceptions
        value: Any = importlib.import_module(module_name)
    elif module_name == "bento":
        value = importlib.import_module(f"bento.{name}")
    else:
        value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, *_BENTOML_NAMES])
