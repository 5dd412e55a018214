"""The service data model: ``@bento.service``, ``@bento.api``, ``bento.depends`` and lifecycle hooks.

These objects only describe; serving them is the runtime's job and bundling them the builder's. Both read
:class:`Service` (its ``config``, ``apis``, ``dependencies``, ``models`` and hooks) and nothing else.
"""

from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar, overload

from bento.core.config import ServiceConfig, log_inert_keys, parse_config
from bento.core.errors import InvalidConfig
from bento.core.schema import Signature, inspect_api

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_ROUTE = re.compile(r"^/[A-Za-z0-9._~/{}-]*$")
_HOOK_ATTR = "__bento_hook__"


@dataclass
class APIMethod:
    """One ``@bento.api`` method. Accessed on an instance it is the plain bound method."""

    func: Callable[..., Any]
    name: str
    route: str
    input_spec: Any = None
    output_spec: Any = None
    batchable: bool = False
    batch_dim: int | tuple[int, int] = 0
    max_batch_size: int = 100
    max_latency_ms: int = 60_000
    #: ``@bento.task``: served as a queued background task (``/<route>/submit`` ...), not a direct call.
    is_task: bool = False
    _signature: Signature | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        functools.update_wrapper(self, self.func)  # type: ignore[arg-type]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func) or inspect.isasyncgenfunction(self.func)

    @property
    def is_stream(self) -> bool:
        return self.signature.io.transport == "stream"

    @property
    def signature(self) -> Signature:
        if self._signature is None:
            model_name = "".join(part.capitalize() for part in self.name.split("_")) + "Input"
            self._signature = inspect_api(self.func, model_name)
        return self._signature

    @property
    def input_batch_dim(self) -> int:
        return self.batch_dim[0] if isinstance(self.batch_dim, tuple) else self.batch_dim

    @property
    def output_batch_dim(self) -> int:
        return self.batch_dim[1] if isinstance(self.batch_dim, tuple) else self.batch_dim

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return self.func.__get__(instance, owner)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)


@overload
def api(func: F, /) -> F: ...
@overload
def api(
    *,
    route: str | None = None,
    name: str | None = None,
    input_spec: Any = None,
    output_spec: Any = None,
    batchable: bool = False,
    batch_dim: int | tuple[int, int] = 0,
    max_batch_size: int = 100,
    max_latency_ms: int = 60_000,
) -> Callable[[F], F]: ...
def api(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Mark a service method as an HTTP API (POST ``/<method name>`` unless ``route`` says otherwise)."""
    return _api_decorator(func, options, is_task=False)


@overload
def task(func: F, /) -> F: ...
@overload
def task(
    *,
    route: str | None = None,
    name: str | None = None,
    input_spec: Any = None,
    output_spec: Any = None,
    batchable: bool = False,
    batch_dim: int | tuple[int, int] = 0,
    max_batch_size: int = 100,
    max_latency_ms: int = 60_000,
) -> Callable[[F], F]: ...
def task(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Mark a service method as a background task: clients submit it and fetch the result later
    (``/<route>/submit``, ``/status``, ``/get``, ``/cancel``, ``/retry``; see docs/tasks.md)."""
    return _api_decorator(func, options, is_task=True)


def _api_decorator(func: Callable[..., Any] | None, options: dict[str, Any], *, is_task: bool) -> Any:
    decorator = "@bento.task" if is_task else "@bento.api"
    allowed = {"route", "name", "input_spec", "output_spec", "batchable", "batch_dim", "max_batch_size",
               "max_latency_ms"}
    unknown = set(options) - allowed
    if unknown:
        import difflib

        key = sorted(unknown)[0]
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else f"; valid options: {', '.join(sorted(allowed))}"
        raise InvalidConfig(f"unknown option `{key}` in {decorator}{hint}")

    def wrap(fn: Callable[..., Any]) -> APIMethod:
        name = options.get("name") or fn.__name__
        route = options.get("route") or f"/{name}"
        if not route.startswith("/"):
            route = "/" + route
        if not _ROUTE.match(route):
            raise InvalidConfig(f"@bento.api route {route!r} of {fn.__qualname__} is not a valid URL path")
        max_batch_size = options.get("max_batch_size", 100)
        max_latency_ms = options.get("max_latency_ms", 60_000)
        if not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise InvalidConfig(f"@bento.api max_batch_size of {fn.__qualname__} must be a positive integer")
        if not isinstance(max_latency_ms, (int, float)) or max_latency_ms <= 0:
            raise InvalidConfig(f"@bento.api max_latency_ms of {fn.__qualname__} must be a positive number")
        batch_dim = options.get("batch_dim", 0)
        if not (isinstance(batch_dim, int) or (isinstance(batch_dim, tuple) and len(batch_dim) == 2)):
            raise InvalidConfig(f"@bento.api batch_dim of {fn.__qualname__} must be an int or a pair of ints")
        return APIMethod(
            func=fn,
            name=name,
            route=route,
            input_spec=options.get("input_spec"),
            output_spec=options.get("output_spec"),
            batchable=bool(options.get("batchable", False)),
            batch_dim=batch_dim,
            max_batch_size=max_batch_size,
            max_latency_ms=int(max_latency_ms),
            is_task=is_task,
        )

    return wrap(func) if func is not None else wrap


def _hook(kind: str) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        target = fn.__func__ if isinstance(fn, (staticmethod, classmethod)) else fn
        setattr(target, _HOOK_ATTR, kind)
        return fn

    return mark


def on_deployment(fn: F) -> F:
    """Run once per ``bento serve`` in the supervisor, before any worker starts (no ``self``)."""
    return _hook("deployment")(fn)


def on_startup(fn: F) -> F:
    """Run in each worker after ``__init__`` (sync or async)."""
    return _hook("startup")(fn)


def on_shutdown(fn: F) -> F:
    """Run in each worker at graceful exit (sync or async)."""
    return _hook("shutdown")(fn)


#: ``resolver(dep)`` gives what a ``bento.depends(Service)`` attribute is, or None to instantiate the
#: dependency in-process. Whoever runs a service passes one to :meth:`Service.instantiate`.
Resolver = Callable[["Dependency[Any]"], Any]
#: ``connect(url, service)`` gives the client of a ``bento.depends(url=...)`` dependency.
Connector = Callable[[str, "Service[Any] | None"], Any]
_RESOLVER_ATTR = "__bento_resolver__"
_VALUE_ATTR = "__bento_dependency_{}__"


class Dependency(Generic[T]):
    """``bento.depends(OtherService)`` or ``bento.depends(url=...)``: a class attribute that resolves, per
    instance and on first access, to something whose methods call the other service.

    Nothing here is global: ``url=`` dependencies are made by the ``connect`` callable given when the
    dependency is declared (the SDK's ``bento.depends`` passes its HTTP client); the others by the
    :data:`Resolver` the instance was created with (:meth:`Service.instantiate`; ``bento serve`` gives a
    proxy over the dependency's Unix socket). Without a resolver, or when it answers None, the dependency is
    instantiated in this process with the same resolver (``--development`` and plain Python). Either way
    ``.to_async`` / ``.to_sync`` give the other calling convention.
    """

    def __init__(self, on: Service[T] | None = None, *, url: str | None = None,
                 connect: Connector | None = None) -> None:
        if on is None and url is None:
            raise InvalidConfig("bento.depends() needs a service or url=...")
        if on is not None and not isinstance(on, Service):
            raise InvalidConfig(f"bento.depends({on!r}): pass a class decorated with @bento.service")
        if url is not None and connect is None:
            raise InvalidConfig("bento.depends(url=...) needs a client; declare it with bento.depends")
        self.on = on
        self.url = url
        self.connect = connect
        self.attr_name: str | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr_name = name

    def resolve(self, resolver: Resolver | None = None) -> Any:
        """A new value for this dependency, made with ``resolver`` (see the class docstring)."""
        if self.url is not None:
            assert self.connect is not None
            return self.connect(self.url, self.on)
        value = resolver(self) if resolver is not None else None
        if value is None:
            from bento.core.calling import LocalService

            assert self.on is not None
            value = LocalService(self.on, self.on.instantiate(resolver))
        return value

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        state = instance.__dict__
        key = _VALUE_ATTR.format(self.attr_name or id(self))
        value = state.get(key)
        if value is None:
            value = state[key] = self.resolve(state.get(_RESOLVER_ATTR))
        return value


def depends(on: Any = None, *, url: str | None = None, connect: Connector | None = None) -> Any:
    return Dependency(on, url=url, connect=connect)


class Service(Generic[T]):
    """A class decorated with ``@bento.service``. Calling it creates an instance of the user's class."""

    def __init__(self, inner: type[T], config: ServiceConfig) -> None:
        self.inner = inner
        self.config = config
        self.name = config.name or inner.__name__
        self.apis: dict[str, APIMethod] = {}
        self.dependencies: dict[str, Dependency[Any]] = {}
        self.models: list[Any] = []
        self.hooks: dict[str, list[Callable[..., Any]]] = {"deployment": [], "startup": [], "shutdown": []}
        #: ASGI apps served under path prefixes (``@bento.asgi_app`` / :meth:`mount_asgi_app`).
        self.mount_apps: list[Any] = list(getattr(inner, "__bento_mounts__", []))
        #: ``@bento.service(image=bento.images.Image(...))``: the build environment, or None.
        self.image: Any = None
        for klass in reversed(inner.__mro__):
            for attr, value in vars(klass).items():
                self._collect(attr, value)
        routes: dict[str, str] = {}
        for api_name, method in self.apis.items():
            if method.route in routes:
                raise InvalidConfig(
                    f"service {self.name}: APIs `{routes[method.route]}` and `{api_name}` share the route "
                    f"{method.route}; give one of them @bento.api(route=...)"
                )
            routes[method.route] = api_name
        functools.update_wrapper(self, inner, updated=())  # type: ignore[arg-type]
        for view in ("to_async", "to_sync"):
            if not any(view in vars(klass) for klass in inner.__mro__):
                setattr(inner, view, property(_view_getter(view)))

    def _collect(self, attr: str, value: Any) -> None:
        if isinstance(value, APIMethod):
            self.apis[value.name] = value
        elif isinstance(value, Dependency):
            self.dependencies[attr] = value
        elif getattr(value, "__bento_model__", False):
            self.models.append(value)
        else:
            target = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            kind = getattr(target, _HOOK_ATTR, None)
            if kind is not None:
                self.hooks[kind].append(value)

    def __call__(self, *args: Any, **kwargs: Any) -> T:
        return self.inner(*args, **kwargs)

    def mount_asgi_app(self, app: Any, path: str = "/", name: str | None = None) -> None:
        """Serve an ASGI app (FastAPI, Starlette, ...) under ``path`` in this service's workers."""
        from bento.core.mounts import check_mount

        self.mount_apps.append(check_mount(app, path, name))

    def instantiate(self, resolver: Resolver | None = None, /, *args: Any, **kwargs: Any) -> T:
        """An instance whose ``bento.depends(Service)`` attributes are made by ``resolver`` (set before
        ``__init__`` runs, so ``__init__`` may use them already)."""
        if resolver is None:
            return self.inner(*args, **kwargs)
        new = self.inner.__new__  # what type.__call__ does, with the resolver set in between
        instance = new(self.inner) if new is object.__new__ else new(self.inner, *args, **kwargs)
        instance.__dict__[_RESOLVER_ATTR] = resolver
        self.inner.__init__(instance, *args, **kwargs)
        return instance

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"<bento.Service {self.name} ({self.inner.__module__}.{self.inner.__qualname__})>"

    @property
    def import_string(self) -> str:
        """``module:attribute`` naming this service (for generated services, the variable holding it)."""
        import sys

        module = sys.modules.get(self.inner.__module__)
        if module is not None and getattr(module, self.inner.__qualname__, None) is not self:
            for name, value in vars(module).items():
                if value is self:
                    return f"{self.inner.__module__}:{name}"
        return f"{self.inner.__module__}:{self.inner.__qualname__}"

    def graph(self) -> list[Service[Any]]:
        """This service and every service it depends on (in-process ones), each once, entry first."""
        seen: dict[int, Service[Any]] = {}
        stack: list[Service[Any]] = [self]
        while stack:
            svc = stack.pop(0)
            if id(svc) in seen:
                continue
            seen[id(svc)] = svc
            stack.extend(d.on for d in svc.dependencies.values() if d.on is not None and d.url is None)
        return list(seen.values())


def _view_getter(view: str) -> Callable[[Any], Any]:
    def get(instance: Any) -> Any:
        from bento.core.calling import AsyncView, SyncView

        return AsyncView(instance) if view == "to_async" else SyncView(instance)

    get.__doc__ = f"Every method of this service in the {view[3:]} calling convention (``.{view}.method(...)``)."
    return get


@overload
def service(inner: type[T], /) -> Service[T]: ...
@overload
def service(inner: None = None, /, **config: Any) -> Callable[[type[T]], Service[T]]: ...
def service(inner: type[T] | None = None, /, **config: Any) -> Any:
    """Declare a service; configuration keys are those of :class:`bento.core.config.ServiceConfig`."""

    def wrap(cls: type[T]) -> Service[T]:
        if not inspect.isclass(cls):
            raise InvalidConfig(f"@bento.service decorates a class, not {cls!r}")
        options = dict(config)
        image = options.pop("image", None)
        if image is not None:
            from bento.core.images import Image

            if not isinstance(image, Image):
                raise InvalidConfig(f"@service(image=...) of {cls.__name__} takes a bento.images.Image")
        where = f"@service config of {cls.__name__}"
        parsed = parse_config(ServiceConfig, options, where)
        log_inert_keys(options, where)
        svc = Service(cls, parsed)
        svc.image = image
        return svc

    return wrap(inner) if inner is not None else wrap
