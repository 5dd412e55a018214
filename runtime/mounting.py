"""Serving the ASGI apps a service mounts: prefix routing and their lifespans.

Routes of a mounted FastAPI/Starlette app may be methods of the service class (``@app.get("/hi")`` on
``def hi(self)`` inside the class, as BentoML allows): once the service instance exists they are
re-created with the bound method, so ``self`` is the instance and FastAPI sees no ``self`` parameter.

A request whose path is not one of the service's own routes goes to the mounted app with the longest
prefix that matches it. As starlette's ``Mount`` does, the path is left whole and ``root_path`` grows by
the prefix, so FastAPI and Starlette apps route and build URLs correctly. Each mounted app's lifespan
(FastAPI ``lifespan=`` / startup handlers) runs inside the worker's: it starts before the service is
created and stops after the service's shutdown hooks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Callable

from bento.core.errors import ServiceLoadError

logger = logging.getLogger("bento.server")
ASGIApp = Callable[[Any, Any, Any], Any]


class Mounts:
    def __init__(self, mounts: list[Any], wrap: Callable[[str, ASGIApp], ASGIApp]) -> None:
        # Longest prefix first, so /v1/admin wins over /v1.
        self.mounts = sorted(mounts, key=lambda m: len(m.path), reverse=True)
        self.handlers = [(m.path, _Rooted(wrap(m.path, m.app), m.path)) for m in self.mounts]
        self.lifespans: list[_Lifespan] = []

    def find(self, scope: Any) -> ASGIApp | None:
        path = scope["path"]
        for prefix, handler in self.handlers:
            if prefix == "/" or path == prefix or path.startswith(prefix + "/"):
                return handler
        return None

    def bind_methods(self, instance: Any) -> None:
        """Re-create the mounted apps' routes whose endpoints are methods of the service's class."""
        for mount in self.mounts:
            routes = getattr(getattr(mount.app, "router", None), "routes", None)
            if isinstance(routes, list):
                routes[:] = [_bound_route(route, instance) for route in routes]

    async def startup(self) -> None:
        for mount in self.mounts:
            lifespan = _Lifespan(mount.app)
            if await lifespan.start(mount.path):
                self.lifespans.append(lifespan)

    async def shutdown(self) -> None:
        for lifespan in reversed(self.lifespans):
            await lifespan.stop()


def _bound_route(route: Any, instance: Any) -> Any:
    endpoint = getattr(route, "endpoint", None)
    owner = type(instance)
    if endpoint is None or inspect.ismethod(endpoint):
        return route
    params = list(inspect.signature(endpoint).parameters)
    if not params or params[0] != "self" or getattr(owner, endpoint.__name__, None) is None \
            or not endpoint.__qualname__.startswith(owner.__qualname__ + "."):
        return route
    bound = endpoint.__get__(instance, owner)
    api_route: Any = None
    try:
        from fastapi.routing import APIRoute as api_route
    except ImportError:  # a Starlette app without FastAPI installed
        pass
    if api_route is not None and isinstance(route, api_route):
        return api_route(route.path, bound, methods=route.methods, name=route.name,
                        response_model=route.response_model, status_code=route.status_code, tags=route.tags,
                        summary=route.summary, description=route.description,
                        response_description=route.response_description, responses=route.responses,
                        deprecated=route.deprecated, include_in_schema=route.include_in_schema,
                        response_class=route.response_class, dependencies=route.dependencies)
    from starlette.routing import Route

    if isinstance(route, Route):
        return Route(route.path, bound, methods=list(route.methods or []), name=route.name,
                     include_in_schema=route.include_in_schema)
    return route


class _Rooted:
    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = "" if prefix == "/" else prefix

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        root = scope.get("root_path", "")
        child = {**scope, "root_path": root + self.prefix, "app_root_path": scope.get("app_root_path", root)}
        await self.app(child, receive, send)


class _Lifespan:
    """Drives one app's ASGI lifespan protocol from the outside."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        try:
            await self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                           self.inbox.get, self.outbox.put)
        except Exception as exc:  # apps without lifespan support raise on the unknown scope type
            await self.outbox.put({"type": "unsupported", "message": str(exc)})

    async def start(self, path: str) -> bool:
        self.task = asyncio.get_running_loop().create_task(self._run())
        await self.inbox.put({"type": "lifespan.startup"})
        reply = await self.outbox.get()
        if reply["type"] == "lifespan.startup.failed":
            raise ServiceLoadError(f"the app mounted at {path} failed to start: {reply.get('message', '')}")
        return reply["type"] == "lifespan.startup.complete"

    async def stop(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self.outbox.get(), 10)
        except TimeoutError:
            logger.warning("a mounted app did not finish its shutdown within 10 s")
        if self.task is not None:
            self.task.cancel()
