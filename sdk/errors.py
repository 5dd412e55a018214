"""Public exception types. The tree (drawn in ``bento.core.errors``) has one root, :class:`BentoError`."""

from __future__ import annotations

from bento.core.errors import (
    AlreadyExists,
    BentoError,
    BuildError,
    ContainerizeError,
    DeployError,
    IntegrityError,
    InUse,
    InvalidArgument,
    InvalidConfig,
    NotFound,
    RemoteError,
    ServiceLoadError,
    ServiceUnavailable,
    StoreFull,
    UnsafePath,
)

__all__ = [
    "AlreadyExists",
    "BentoError",
    "BuildError",
    "ContainerizeError",
    "DeployError",
    "InUse",
    "IntegrityError",
    "InvalidArgument",
    "InvalidConfig",
    "NotFound",
    "RemoteError",
    "ServiceLoadError",
    "ServiceUnavailable",
    "StoreFull",
    "UnsafePath",
]
