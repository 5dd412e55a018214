"""Bento: serve machine-learning models from Python classes, build reproducible bentos and images.

The public surface is below, grouped by role; everything else is internal. Attributes load on first
use so that ``import bento`` (and ``bento --help``) stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # Declaring services
    "service": "bento.services",
    "api": "bento.services",
    "depends": "bento.services",
    "on_deployment": "bento.services",
    "on_startup": "bento.services",
    "on_shutdown": "bento.services",
    "Service": "bento.services",
    "runner_service": "bento.runner",
    # Inside an API
    "Context": "bento.context",
    "Cookie": "bento.context",
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

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from bento import bentos, models, validators
    from bento.client import AsyncHTTPClient, SyncHTTPClient
    from bento.context import Context, Cookie
    from bento.errors import BentoError
    from bento.runner import runner_service
    from bento.services import Service, api, depends, on_deployment, on_shutdown, on_startup, service


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'bento' has no attribute {name!r}")
    if module_name == "bento":
        value: Any = importlib.import_module(f"bento.{name}")
    else:
        value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
