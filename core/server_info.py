"""What a running server knows about itself, for user code: ``bentoml.server_context`` and
``bentoml.use_arguments()`` (``get_current_service()`` lives with the mounts, ``bento.core.mounts``).

The worker fills :data:`server_context` when it starts (``worker_index``, ``service_name``), and
``bento serve`` fills the bento's name and version when it serves a bento. Template arguments (``bento serve --arg K=V``) travel in ``BENTO_ARGUMENTS`` (JSON), so
the supervisor, its forked workers and a ``--reload`` re-execution all see the same values.
"""

from __future__ import annotations

import json
import os
import types
from typing import Any

from bento.core.errors import InvalidArgument, InvalidConfig

ARGUMENTS_ENV = "BENTO_ARGUMENTS"

__all__ = ["ServerContext", "parse_arguments", "server_context", "use_arguments"]


class ServerContext:
    """Attributes of BentoML's ``server_context``; None outside a server."""

    def __init__(self) -> None:
        self.worker_index: int | None = None  # 1-based, as in BentoML
        self.service_name: str | None = None
        self.service_type: str | None = None
        self.bento_name: str | None = None
        self.bento_version: str | None = None

    @property
    def working_dir(self) -> str:
        return os.getcwd()

    def __repr__(self) -> str:
        return (f"ServerContext(worker_index={self.worker_index}, service_name={self.service_name!r}, "
                f"bento_name={self.bento_name!r}, bento_version={self.bento_version!r})")


server_context = ServerContext()


def parse_arguments(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["K=V", ...]`` from ``--arg`` into a dict; a malformed item is a named error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidArgument(f"--arg {item!r}: expected KEY=VALUE, e.g. --arg model_name=gpt2")
        out[key.strip()] = value
    return out


def _current_arguments() -> dict[str, Any]:
    raw = os.environ.get(ARGUMENTS_ENV)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidConfig(f"{ARGUMENTS_ENV} is not a JSON object: {raw[:80]!r}") from None
    if not isinstance(value, dict):
        raise InvalidConfig(f"{ARGUMENTS_ENV} must be a JSON object of argument names to values")
    return value


def use_arguments(schema: Any = None) -> Any:
    """The template arguments given with ``--arg K=V``: validated into ``schema`` (a pydantic model, defaults
    and types apply) or, without one, a ``types.SimpleNamespace`` of strings."""
    values = _current_arguments()
    if schema is None:
        return types.SimpleNamespace(**values)
    try:
        return schema.model_validate(values)
    except Exception as exc:
        errors = getattr(exc, "errors", None)
        detail = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in errors()) \
            if callable(errors) else str(exc)
        raise InvalidConfig(f"service arguments (--arg) do not match {schema.__name__}: {detail}") from None
