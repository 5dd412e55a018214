"""``bentoml.exceptions``: BentoML's exception names over Bento's one error tree (``bento.errors``).

Raising one of them in an API answers with its HTTP status, as in BentoML (``BadInput`` → 400,
``NotFound`` → 404, ``TooManyRequests`` → 429, ``ServiceUnavailable`` → 503...).
"""

from __future__ import annotations

from bento.core.errors import (
    AlreadyExists,
    BentoError,
    InvalidArgument,
    InvalidConfig,
    NotFound,
    RemoteError,
    ServiceLoadError,
    ServiceUnavailable,
)

__all__ = [
    "BadInput", "BentoMLConfigException", "BentoMLException", "Conflict", "ImportServiceError",
    "InternalServerError", "InvalidArgument", "MissingDependencyException", "NotFound", "RemoteException",
    "ServiceUnavailable", "StateException", "TooManyRequests", "UnprocessableEntity",
]

BentoMLException = BentoError
BentoMLConfigException = InvalidConfig
ImportServiceError = ServiceLoadError
RemoteException = RemoteError
Conflict = AlreadyExists


class BadInput(InvalidArgument):
    """The request's input is invalid (400)."""


class UnprocessableEntity(InvalidArgument):
    http_status = 422


class InternalServerError(BentoError):
    http_status = 500


class StateException(BentoError):
    """An operation that the current state does not allow (400)."""

    http_status = 400


class TooManyRequests(ServiceUnavailable):
    http_status = 429


class MissingDependencyException(BentoError):
    """An optional package the code needs is not installed."""
