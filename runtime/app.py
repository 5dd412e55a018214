"""The ASGI application of one worker: the service's APIs plus ``/livez``, ``/readyz``, ``/metrics``,
``/docs.json``, ``/metadata`` (the bento and model tags served) and the interactive page at ``/``.

``create_app(service, state)`` is all a server needs. The lifespan startup returns at once and creates the
service instance in the background (``__init__`` in the API thread pool), so ``/livez`` answers while a
model loads; ``/readyz`` turns 200 once ``__init__`` and the ``@on_startup`` hooks are done in every worker
(``state.is_ready()``) and the instance's optional ``__is_ready__()`` agrees.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from importlib import resources
from typing import Any, Callable

from bento.core.errors import InvalidConfig
from bento.core.mounts import set_current_service
from bento.runtime import codec
from bento.runtime.calls import CallThreads
from bento.runtime.endpoint import APIEndpoint
from bento.runtime.metrics import create_metrics
from bento.runtime.recycle import recycler_for
from bento.runtime.state import ServingState
from bento.runtime.watchdog import Watchdog
from bento.core.services import Resolver, Service

logger = logging.getLogger("bento.server")
ASGIApp = Callable[[Any, Any, Any], Any]
RESERVED = ("/", "/livez", "/healthz", "/readyz", "/metrics", "/docs.json", "/schema.json", "/metadata")
STATIC_PREFIX = "/_bento/"
_JSON = b"application/json"


class Runtime:
    """What the handlers of one app share: the service instance, the pool, the serving state."""

    def __init__(self, service: Service[Any], state: ServingState, internal: bool) -> None:
        self.service = service
        self.config = service.config
        self.state = state
        self.internal = internal
        self.pool = CallThreads(service.config.threads, "bento-api")
        self.monitors: list[Any] = []  # background checks (watchdog, recycler): start() and stop()
        self.wedged: str | None = None  # why every API thread is stuck, once the watchdog said so
        self.user_state: dict[str, Any] = {}
        self.instance: Any = None
        self.resolver: Resolver | None = None  # makes the instance's `bento.depends(Service)` attributes
        self.started = False
        self.startup_error: BaseException | None = None
        self.on_startup_failure: Callable[[BaseException], None] | None = None
        self.endpoints: list[APIEndpoint] = []
        self.tasks: Any = None  # a TaskRunner when the service has @bento.task methods
        self.after_init: list[Callable[[Any], None]] = []  # called with the instance once it exists
        self._init_task: asyncio.Task[None] | None = None

    async def _call_hook(self, hook: Any) -> None:
        bound = hook.__get__(self.instance, type(self.instance)) if hasattr(hook, "__get__") else hook
        if inspect.iscoroutinefunction(bound):
            await bound()
            return
        result = await asyncio.get_running_loop().run_in_executor(self.pool, bound)
        if inspect.isawaitable(result):
            await result

    async def _start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            self.instance = await loop.run_in_executor(self.pool, self.service.instantiate, self.resolver)
            set_current_service(self.instance)
            for hook in self.after_init:
                hook(self.instance)
            for hook in self.service.hooks["startup"]:
                await self._call_hook(hook)
            for endpoint in self.endpoints:
                endpoint.bind(self.instance)
            if self.tasks is not None:
                self.tasks.start()
            self.started = True
            self.state.mark_ready()
            logger.info("service %s is ready", self.service.name)
        except Exception as exc:
            self.startup_error = exc
            logger.exception("service %s failed to start", self.service.name)
            if self.on_startup_failure is not None:
                self.on_startup_failure(exc)

    def start(self) -> None:
        self._init_task = asyncio.get_running_loop().create_task(self._start())
        for monitor in self.monitors:
            monitor.start()

    async def stop(self) -> None:
        for monitor in self.monitors:
            monitor.stop()
        if self._init_task is not None and not self._init_task.done():
            self._init_task.cancel()
        elif self.wedged is not None:  # a sync hook would queue behind the stuck threads forever
            logger.warning("not running the shutdown hooks of %s: its API threads are stuck", self.service.name)
        elif self.instance is not None and self.startup_error is None:
            for hook in self.service.hooks["shutdown"]:
                try:
                    await self._call_hook(hook)
                except Exception:
                    logger.exception("shutdown hook %s failed", getattr(hook, "__name__", hook))
        if self.tasks is not None:
            await self.tasks.stop()
        if self.instance is not None:
            set_current_service(None)
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def probe(self, name: str) -> bool:
        """The instance's optional ``__is_ready__`` / ``__is_alive__`` (sync or async); True if absent."""
        check = getattr(self.instance, name, None)
        if check is None:
            return True
        result = check()
        if inspect.isawaitable(result):
            result = await result
        return bool(result)


class BentoApp:
    """The ASGI callable returned by :func:`create_app`."""

    def __init__(self, service: Service[Any], state: ServingState, internal: bool) -> None:
        self.service = service
        self.runtime = Runtime(service, state, internal)
        self.metrics = create_metrics(service.config.metrics)
        self.routes: dict[str, ASGIApp] = {}
        self.on_wedged: Callable[[str], None] | None = None  # the server stops the worker
        long_running = frozenset(api.func.__name__ for api in service.apis.values() if api.is_task)
        self.runtime.monitors.append(Watchdog(self.runtime.pool, service.config.traffic.timeout, self._wedged,
                                              exempt=long_running))
        self._docs: bytes | None = None
        self._schema: bytes | None = None
        self._static: dict[str, tuple[bytes, bytes]] = {}
        task_apis = [api for api in service.apis.values() if api.is_task]
        if task_apis:
            from bento.runtime.tasks import TaskRunner

            self.runtime.tasks = TaskRunner(self.runtime, task_apis, self._task_endpoint)
            for route, handler in self.runtime.tasks.routes().items():
                self.routes[route] = self.metrics.wrap(route, handler)
        for api in service.apis.values():
            if api.is_task:
                continue
            if api.route in RESERVED or api.route.startswith(STATIC_PREFIX):
                raise InvalidConfig(
                    f"API `{api.name}` of {service.name} uses the reserved route {api.route}; "
                    f"choose another with @bento.api(route=...)"
                )
            endpoint = APIEndpoint(api, self.runtime)
            self.runtime.endpoints.append(endpoint)
            self.routes[api.route] = self.metrics.wrap(api.route, endpoint)
        builtin: dict[str, ASGIApp] = {"/livez": self.livez, "/readyz": self.readyz, "/docs.json": self.docs,
                                       "/metadata": self.metadata, "/": self.page,
                                       "/healthz": self.livez, "/schema.json": self.schema}
        if self.metrics.enabled:
            builtin["/metrics"] = self.metrics_page
        for route, handler in builtin.items():
            self.routes[route] = _get_only(self.metrics.wrap(route, handler)) if route != "/metrics" \
                else _get_only(handler)
        from bento.runtime import oip

        for route, handler in oip.routes(self, self.routes).items():  # KServe/Triton v2; user routes win
            if route not in self.routes:
                self.routes[route] = handler if route.endswith("/infer") else _get_only(handler)
        for name, (content_type, _) in _static_files().items():
            self.routes[STATIC_PREFIX + name] = _get_only(self.static)
        self.mounts = None
        if service.mount_apps:
            from bento.runtime.mounting import Mounts

            self.mounts = Mounts(service.mount_apps, self.metrics.wrap)
            self.runtime.after_init.append(self.mounts.bind_methods)
        self.entry: ASGIApp = self.route
        self.recycler = recycler_for(self.route, service.config, {api.route for api in service.apis.values()})
        if self.recycler is not None:
            self.entry = self.recycler
            self.runtime.monitors.append(self.recycler)
        cors = service.config.http.cors
        if cors.enabled:
            from starlette.middleware.cors import CORSMiddleware

            self.entry = CORSMiddleware(
                self.entry, allow_origins=cors.access_control_allow_origins,
                allow_methods=cors.access_control_allow_methods,
                allow_headers=cors.access_control_allow_headers,
                allow_credentials=cors.access_control_allow_credentials,
                max_age=cors.access_control_max_age or 600,
            )
        self.host_guard: ASGIApp | None = None
        if not internal:  # the internal Unix socket sits in a private directory; no browser reaches it
            from bento.runtime.hosts import guard_hosts

            self.entry = self.host_guard = guard_hosts(self.entry, service.config.http.allowed_hosts)
        from bento.runtime.access_log import wrap_access_log

        self.entry = wrap_access_log(self.entry, service.config.logging.access)

    def _task_endpoint(self, api: Any) -> APIEndpoint:
        """A private endpoint that runs queued calls of a task API (bound with the others)."""
        endpoint = APIEndpoint(api, self.runtime)
        self.runtime.endpoints.append(endpoint)
        return endpoint

    @property
    def startup_error(self) -> BaseException | None:
        """Set when ``__init__`` or a startup hook raised; ``/livez`` then answers 503."""
        return self.runtime.startup_error

    @property
    def on_startup_failure(self) -> Callable[[BaseException], None] | None:
        """Called (on the event loop) with the exception when ``__init__`` or a startup hook raised; the
        server sets it to stop the worker (the lifespan startup has already completed by then)."""
        return self.runtime.on_startup_failure

    @on_startup_failure.setter
    def on_startup_failure(self, callback: Callable[[BaseException], None] | None) -> None:
        self.runtime.on_startup_failure = callback

    def _wedged(self, message: str) -> None:
        """Every API thread is stuck: fail the probes, refuse every API, let the server stop this worker."""
        self.runtime.wedged = message

        async def refuse(scope: Any, receive: Any, send: Any) -> None:
            await codec.send_error(send, 503, "ServiceUnavailable", "this worker is wedged and being replaced; "
                                   "retry", headers=[(b"retry-after", b"1")])

        for api in self.service.apis.values():
            if api.route in self.routes:
                self.routes[api.route] = refuse
        if self.on_wedged is not None:
            self.on_wedged(message)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.entry(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)
        else:  # websockets are not served
            await send({"type": "websocket.close", "code": 1000})

    async def route(self, scope: Any, receive: Any, send: Any) -> None:
        handler = self.routes.get(scope["path"])
        if handler is None and self.mounts is not None:
            handler = self.mounts.find(scope)
        if handler is None:
            await codec.send_error(send, 404, "NotFound", f"no route {scope['path']}; see /docs.json")
            return
        await handler(scope, receive, send)

    async def lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self.mounts is not None:
                        await self.mounts.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                self.runtime.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.runtime.stop()
                    if self.mounts is not None:
                        await self.mounts.shutdown()
                finally:
                    self.metrics.flush()
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def livez(self, scope: Any, receive: Any, send: Any) -> None:
        rt = self.runtime
        if rt.startup_error is not None:
            error = rt.startup_error
            await codec.send_error(send, 503, "StartupFailed", f"{type(error).__name__}: {error}")
        elif rt.wedged is not None:
            await codec.send_error(send, 503, "Wedged", rt.wedged)
        elif rt.instance is not None and not await _safe_probe(rt, "__is_alive__"):
            await codec.send_error(send, 503, "ServiceUnavailable", "__is_alive__() returned False")
        else:
            await codec.send_body(send, 200, _JSON, b'{"status":"alive"}', [])

    async def readyz(self, scope: Any, receive: Any, send: Any) -> None:
        rt = self.runtime
        if rt.startup_error is not None:
            reason = f"startup failed: {type(rt.startup_error).__name__}: {rt.startup_error}"
        elif rt.wedged is not None:
            reason = rt.wedged
        elif not rt.started:
            reason = "this worker is still starting"
        elif not rt.state.is_ready():
            reason = "other workers are still starting"
        elif not await _safe_probe(rt, "__is_ready__"):
            reason = "__is_ready__() returned False"
        else:
            await codec.send_body(send, 200, _JSON, b'{"status":"ready"}', [])
            return
        await codec.send_error(send, 503, "ServiceUnavailable", f"not ready: {reason}",
                               headers=[(b"retry-after", b"1")])

    async def metrics_page(self, scope: Any, receive: Any, send: Any) -> None:
        body, content_type = self.metrics.render()
        await codec.send_body(send, 200, content_type.encode(), body, [])

    async def docs(self, scope: Any, receive: Any, send: Any) -> None:
        if self._docs is None:
            from bento.core.openapi import openapi_document

            self._docs = json.dumps(openapi_document(self.service)).encode()
        await codec.send_body(send, 200, _JSON, self._docs, [])

    async def schema(self, scope: Any, receive: Any, send: Any) -> None:
        """BentoML's service schema, read by BentoML's own HTTP clients."""
        if self._schema is None:
            from bento.core.service_schema import service_schema

            self._schema = json.dumps(service_schema(self.service)).encode()
        await codec.send_body(send, 200, _JSON, self._schema, [])

    async def metadata(self, scope: Any, receive: Any, send: Any) -> None:
        """What is served: the bento's tag and recorded models, or (serving source) the store's models."""
        from bento.store import pins

        record = pins.active()
        models = record.tags if record is not None else sorted(
            {str(m.tag) for svc in self.service.graph() for m in svc.models if getattr(m, "tag", None)})
        body = {"service": self.service.name, "bento": record.bento if record is not None else None,
                "models": models}
        await codec.send_body(send, 200, _JSON, json.dumps(body).encode(), [])

    async def page(self, scope: Any, receive: Any, send: Any) -> None:
        content_type, body = _static_files()["index.html"]
        await codec.send_body(send, 200, content_type, body, [(b"cache-control", b"no-cache")])

    async def static(self, scope: Any, receive: Any, send: Any) -> None:
        content_type, body = _static_files()[scope["path"][len(STATIC_PREFIX):]]
        await codec.send_body(send, 200, content_type, body, [(b"cache-control", b"no-cache")])


def _get_only(handler: ASGIApp) -> ASGIApp:
    async def get_only(scope: Any, receive: Any, send: Any) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await codec.send_error(send, 405, "MethodNotAllowed", f"{scope['path']} answers GET only",
                                   headers=[(b"allow", b"GET, HEAD")])
            return
        await handler(scope, receive, send)

    return get_only


async def _safe_probe(rt: Runtime, name: str) -> bool:
    try:
        return await rt.probe(name)
    except Exception:
        logger.exception("%s raised", name)
        return False


_TYPES = {".html": b"text/html; charset=utf-8", ".js": b"text/javascript; charset=utf-8",
          ".css": b"text/css; charset=utf-8", ".svg": b"image/svg+xml"}
_STATIC_CACHE: dict[str, tuple[bytes, bytes]] = {}


def _static_files() -> dict[str, tuple[bytes, bytes]]:
    """The files of ``runtime/static`` (shipped as package data), read once."""
    if not _STATIC_CACHE:
        folder = resources.files("bento.runtime") / "static"
        for entry in folder.iterdir():
            if entry.is_file() and not entry.name.startswith("."):
                suffix = "." + entry.name.rsplit(".", 1)[-1]
                _STATIC_CACHE[entry.name] = (_TYPES.get(suffix, b"application/octet-stream"),
                                             entry.read_bytes())
    return _STATIC_CACHE


def create_app(service: Service[Any], state: ServingState, *, internal: bool = False,
               resolver: Resolver | None = None) -> BentoApp:
    """The ASGI app serving ``service`` in this process; ``internal=True`` for the private socket a caller
    service uses (accepts and answers ``application/vnd.bento.pickle``). Both honour ``X-Bento-Timeout``, a
    caller's remaining deadline, which can only shorten ``traffic.timeout``. ``resolver`` makes the
    service's ``bento.depends(Service)`` attributes (default: in-process)."""
    app = BentoApp(service, state, internal)
    app.runtime.resolver = resolver
    return app
