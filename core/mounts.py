"""ASGI apps inside a service (``@bento.asgi_app``) and the running service instance.

A FastAPI or Starlette app mounted at a path prefix is served by the same workers as the service's
APIs: it shares the process, the service instance (``bento.get_current_service()`` inside its routes),
the lifecycle (its lifespan starts with the worker and stops with it), metrics and health.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from bento.core.errors import InvalidConfig

_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
_instance: list[Any] = []


@dataclass(frozen=True)
class Mount:
    app: Any
    path: str
    name: str | None = None


def check_mount(app: Any, path: str, name: str | None = None) -> Mount:
    if not callable(app):
        raise InvalidConfig(f"mount_asgi_app({app!r}): pass an ASGI application (FastAPI, Starlette, ...)")
    path = "/" + path.strip("/") if path.strip("/") else "/"
    if path != "/" and not _PREFIX.match(path):
        raise InvalidConfig(f"mount_asgi_app path {path!r} is not a valid URL path prefix")
    return Mount(app, path, name)


def asgi_app(app: Any, *, path: str = "/", name: str | None = None) -> Callable[[Any], Any]:
    """``@bento.asgi_app(app, path="/v1")`` on a service class (above or below ``@bento.service``)."""
    mount = check_mount(app, path, name)

    def attach(target: Any) -> Any:
        from bento.core.services import Service

        if isinstance(target, Service):
            target.mount_apps.append(mount)
        else:  # the plain class: @bento.service collects it
            target.__bento_mounts__ = [*getattr(target, "__bento_mounts__", []), mount]
        return target

    return attach


def get_current_service() -> Any:
    """The instance of the service this worker serves (None outside ``bento serve`` before it started)."""
    return _instance[0] if _instance else None


def set_current_service(instance: Any) -> None:
    """Called by whoever runs the service, once its instance exists (None when it stopped)."""
    _instance[:] = [] if instance is None else [instance]
