"""Which container backend builds the image: one name per backend, chosen once, imported lazily.

The choice is, in order: the explicit name (``bento containerize --backend``), the environment variable
``BENTO_CONTAINER_BACKEND``, the default ``docker``. An unknown name is an :class:`InvalidArgument` that
lists the known ones. Backends are imported only when chosen, so listing the names (for ``--help``) costs
nothing and a backend's own dependencies (the Docker SDK) load only when it builds.

Adding a backend: write ``<name>.py`` next to this module with a :class:`ContainerBackend` subclass, and add
one line to :data:`BACKENDS`.
"""

from __future__ import annotations

import importlib
import os
from typing import Mapping

from bento.builder.backends.base import ContainerBackend
from bento.core.errors import InvalidArgument

ENV_VAR = "BENTO_CONTAINER_BACKEND"
DEFAULT = "docker"

# name -> "module:class"; the order is the order `--help` and error messages list them in.
BACKENDS: dict[str, str] = {
    "docker": "bento.builder.backends.docker_engine:DockerEngine",
}
BACKEND_NAMES: tuple[str, ...] = tuple(BACKENDS)


def backend_name(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The chosen backend's name: ``explicit`` > ``$BENTO_CONTAINER_BACKEND`` > ``docker``; checked."""
    env = os.environ if environ is None else environ
    if explicit:
        name, source = explicit, "--backend"
    elif env.get(ENV_VAR, "").strip():
        name, source = env[ENV_VAR].strip(), ENV_VAR
    else:
        return DEFAULT
    if name not in BACKENDS:
        raise InvalidArgument(
            f"{source}={name!r} is not a container backend; choose one of: {', '.join(BACKEND_NAMES)}"
        )
    return name


def backend_class(name: str) -> type[ContainerBackend]:
    """The class registered as ``name`` (imported now); the name must come from :func:`backend_name`."""
    module_name, _, attr = BACKENDS[name].partition(":")
    cls: type[ContainerBackend] = getattr(importlib.import_module(module_name), attr)
    return cls


def open_backend(name: str | None = None) -> ContainerBackend:
    """Connect to the chosen backend (see the module docstring); fails before anything is written."""
    return backend_class(backend_name(name))()
