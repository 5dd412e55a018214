"""Legacy runners (BentoML 1.1) and ``bento.runner_service``, which turns one into a service.

    model = bento.models.save_model("iris", clf, signatures={"predict": {"batchable": True}})
    runner = bento.models.get("iris:latest").to_runner()
    runner.predict.run(X)                 # in this process, blocking
    await runner.predict.async_run(X)     # in this process, in a worker thread

    IrisRunner = bento.runner_service(runner=runner)

    @bento.service
    class Classifier:
        iris = bento.depends(IrisRunner)  # its own worker processes under `bento serve`

        @bento.api
        def classify(self, x: np.ndarray) -> np.ndarray:
            return self.iris.predict.run(x)   # or self.iris.predict(x)

A runner method is one of the model's signatures (``{"predict": {"batchable": True, "batch_dim": 0}}``;
a model saved without signatures gets ``predict`` if the object has one, else ``__call__``). The model
object is loaded on first use, so defining a runner (at import, in the supervisor) loads nothing.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
import sys
import threading
from typing import Any, Callable

from bento.errors import InvalidArgument
from bento.core.services import APIMethod, Service, api, service


class RunnerMethod:
    """``runner.<method>``: ``.run(...)`` blocks, ``await .async_run(...)`` runs it in a worker thread."""

    def __init__(self, runner: Runner, name: str, batchable: bool, batch_dim: int | tuple[int, int]) -> None:
        self.runner = runner
        self.name = name
        self.batchable = batchable
        self.batch_dim = batch_dim

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.runner.load(), self.name)(*args, **kwargs)

    async def async_run(self, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self.run, *args, **kwargs)

    def parameters(self) -> list[str]:
        """Parameter names of the model's method, read from its class without loading the model."""
        func = None
        cls = self.runner.object_type()
        if cls is not None:
            func = getattr(cls, self.name, None)
        if func is None:
            return ["input"]
        try:
            params = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):
            return ["input"]
        if params and params[0].name in ("self", "cls"):
            params = params[1:]
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            return ["input"]
        return [p.name for p in params if p.default is inspect.Parameter.empty] or ["input"]

    def __repr__(self) -> str:
        return f"<runner method {self.runner.name}.{self.name}>"


class Runner:
    """A stored model's object with one :class:`RunnerMethod` per signature."""

    def __init__(self, name: str, model: Any, signatures: dict[str, dict[str, Any]]) -> None:
        self.name = name
        self.models = [model]
        self._model = model
        self._object: Any = None
        self._lock = threading.Lock()
        self.methods: dict[str, RunnerMethod] = {}
        for method, options in signatures.items():
            dim = options.get("batch_dim", 0)
            if isinstance(dim, (list, tuple)):
                dim = (int(dim[0]), int(dim[1]))
            self.methods[method] = RunnerMethod(self, method, bool(options.get("batchable", False)), dim)

    @classmethod
    def from_model(cls, model: Any, name: str | None = None) -> Runner:
        signatures = dict(model.signatures)
        if not signatures:
            kind = cls._import(str(model.info.get("object_type", "")))
            signatures = {"predict" if kind is None or hasattr(kind, "predict") else "__call__": {}}
        return cls(name or _identifier(model.name), model, signatures)

    def __getattr__(self, name: str) -> RunnerMethod:
        methods = self.__dict__.get("methods", {})
        if name in methods:
            return methods[name]  # type: ignore[no-any-return]
        raise AttributeError(f"runner {self.__dict__.get('name')} has no method `{name}` "
                             f"(its methods: {', '.join(methods) or 'none'}; see the model's signatures)")

    def load(self) -> Any:
        """The model object (loaded once, on first use)."""
        if self._object is None:
            with self._lock:
                if self._object is None:
                    self._object = self._model.load_model()
        return self._object

    init_local = load

    def object_type(self) -> type | None:
        return self._import(str(self._model.info.get("object_type", "")))

    @staticmethod
    def _import(dotted: str) -> type | None:
        module, _, qualname = dotted.rpartition(".")
        if not module:
            return None
        try:
            obj: Any = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            return None
        return obj if isinstance(obj, type) else None

    def __repr__(self) -> str:
        return f"<Runner {self.name} ({self._model.tag}): {', '.join(self.methods)}>"


class _RunnerAPI(APIMethod):
    """An API of a runner service; on an instance it also answers ``.run`` / ``.async_run``."""

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return _BoundRunnerAPI(self.func.__get__(instance, owner))


class _BoundRunnerAPI:
    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.__wrapped__ = func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    async def async_run(self, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self.func, *args, **kwargs)


def _api_function(method: RunnerMethod) -> Callable[..., Any]:
    """A method ``(self, <the model method's parameters>)`` that calls the runner method."""

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        return method.run(*args, **kwargs)

    params = method.parameters()
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", kind)] + [inspect.Parameter(p, kind, annotation=Any) for p in params],
        return_annotation=Any,
    )
    call.__annotations__ = {**{p: Any for p in params}, "return": Any}
    call.__name__ = call.__qualname__ = method.name
    call.__doc__ = f"`{method.name}` of model {method.runner.models[0].tag}"
    return call


def runner_service(runner: Runner, *, name: str | None = None, **config: Any) -> Service[Any]:
    """A service whose APIs are the runner's methods (batchable ones batched); use it with ``bento.depends``.

    ``config`` is any ``@bento.service`` setting (``workers``, ``resources``, ...); the service is named
    after the runner unless ``name`` says otherwise.
    """
    if not isinstance(runner, Runner):
        raise InvalidArgument("bento.runner_service(runner=...) needs a runner, e.g. bento.models.get(tag).to_runner()")
    attrs: dict[str, Any] = {"model": runner.models[0], "__doc__": f"Runner {runner.name} as a service"}

    def __init__(self: Any) -> None:
        runner.load()

    attrs["__init__"] = __init__
    for method in runner.methods.values():
        options: dict[str, Any] = {}
        if method.batchable:
            options = {"batchable": True, "batch_dim": method.batch_dim}
        plain = api(**options)(_api_function(method))
        attrs[method.name] = _RunnerAPI(**{f: getattr(plain, f) for f in (
            "func", "name", "route", "input_spec", "output_spec", "batchable", "batch_dim",
            "max_batch_size", "max_latency_ms")})
    cls = type(_class_name(runner.name), (), attrs)
    cls.__module__ = sys._getframe(1).f_globals.get("__name__", __name__)
    return service(name=name or runner.name, **config)(cls)


def _identifier(name: str) -> str:
    cleaned = re.sub(r"\W", "_", name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"runner_{cleaned}"


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"\W|_", name) if part) + "Runner"
