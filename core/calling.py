"""``.to_async`` and ``.to_sync``: every method of a service instance in the other calling convention.

``instance.to_async.method(...)`` returns an awaitable whatever ``method`` is: a sync method runs in a
worker thread (``asyncio.to_thread``, so context variables such as the request deadline follow it), a sync
generator becomes an async iterator. ``instance.to_sync.method(...)`` blocks until an async method is done:
on the server's event loop when called from one of its worker threads (anyio's thread pool, which is
where sync APIs run), otherwise on a private event loop. Methods already in the asked-for convention are
returned unchanged. Remote dependencies (``bento.depends`` under ``bento serve``) implement the same two
views natively, over their own sync and async HTTP clients.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import atexit
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Iterator, TypeVar

if TYPE_CHECKING:
    from bento.core.services import APIMethod, Service

T = TypeVar("T")

_END = object()


class AsyncView:
    """``instance.to_async``: attribute access returns the async version of each method."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)
        if not callable(method) or inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method):
            return method
        if inspect.isgeneratorfunction(method):
            return _async_gen(method)
        return _async_call(method)

    def __repr__(self) -> str:
        return f"<async view of {self._target!r}>"


class SyncView:
    """``instance.to_sync``: attribute access returns the blocking version of each method."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)
        if inspect.isasyncgenfunction(method):
            return _sync_gen(method)
        if inspect.iscoroutinefunction(method):
            return lambda *args, **kwargs: run_sync(method, *args, **kwargs)
        return method

    def __repr__(self) -> str:
        return f"<sync view of {self._target!r}>"


def _async_call(method: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    async def call(*args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(method, *args, **kwargs)

    return call


def _async_gen(method: Callable[..., Iterator[T]]) -> Callable[..., AsyncIterator[T]]:
    async def iterate(*args: Any, **kwargs: Any) -> AsyncIterator[T]:
        gen = await asyncio.to_thread(method, *args, **kwargs)
        try:
            while True:
                item = await asyncio.to_thread(next, gen, _END)
                if item is _END:
                    return
                yield item  # type: ignore[misc]
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                await asyncio.to_thread(close)

    return iterate


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_sync(func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run the coroutine function ``func`` to completion from synchronous code and return its result."""
    if _in_running_loop():
        # Called from async code: blocking here would stall the loop the coroutine might need, so it runs
        # on a private loop in a helper thread (the caller still blocks; prefer awaiting the method).
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = asyncio.run(func(*args, **kwargs))  # type: ignore[arg-type]
            except BaseException as exc:
                box["error"] = exc

        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(target,), name="bento-to-sync")
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]
    import anyio.from_thread

    if _in_anyio_worker():
        return anyio.from_thread.run(lambda: func(*args, **kwargs))  # type: ignore[return-value, arg-type]
    return asyncio.run(func(*args, **kwargs))  # type: ignore[arg-type]


def _in_anyio_worker() -> bool:
    """Whether this thread was started by an event loop's anyio thread pool (so it can run on that loop)."""
    import anyio.from_thread

    try:
        anyio.from_thread.run_sync(int)
    except RuntimeError:
        return False
    return True


def _sync_gen(method: Callable[..., AsyncIterator[T]]) -> Callable[..., Iterator[T]]:
    def iterate(*args: Any, **kwargs: Any) -> Iterator[T]:
        agen = method(*args, **kwargs)

        async def step() -> Any:
            try:
                return await agen.__anext__()
            except StopAsyncIteration:
                return _END

        async def close() -> None:
            await agen.aclose()  # type: ignore[attr-defined]

        import anyio.from_thread

        if _in_anyio_worker():
            runner: Callable[..., Any] = anyio.from_thread.run
            loop = None
        else:
            loop = asyncio.new_event_loop()

            def runner(fn: Callable[[], Awaitable[Any]]) -> Any:
                return loop.run_until_complete(fn())  # type: ignore[union-attr]

        try:
            while True:
                item = runner(step)
                if item is _END:
                    return
                yield item
        finally:
            try:
                runner(close)
            finally:
                if loop is not None:
                    loop.close()

    return iterate


class LocalService:
    """A dependency instantiated in this process (``--development``, plain Python): its APIs are called as
    they would be remotely, i.e. positional arguments name the API's parameters and a ``bento.Context``
    parameter is filled in (a fresh context per call, its temporary directory kept until exit so a
    returned ``Path`` stays readable). Every other attribute is the instance's own.
    """

    def __init__(self, service: Service[Any], instance: Any) -> None:
        self.service = service
        self.instance = instance
        self.state: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        instance = self.__dict__.get("instance")
        method = getattr(instance, name)
        api = self.service.apis.get(name)
        if api is None or api.signature.context_param is None:
            return method
        return _with_context(method, api, self.state)

    @property
    def to_async(self) -> AsyncView:
        return AsyncView(self)

    @property
    def to_sync(self) -> SyncView:
        return SyncView(self)

    def __repr__(self) -> str:
        return f"<in-process {self.service.name}>"


_CONTEXTS: list[Any] = []


def _close_contexts() -> None:
    for ctx in _CONTEXTS:
        ctx.close()


atexit.register(_close_contexts)


def _with_context(method: Callable[..., Any], api: APIMethod, state: dict[str, Any]) -> Callable[..., Any]:
    from bento.core.context import Context

    names = [p.name for p in api.signature.params]
    context_param = api.signature.context_param
    assert context_param is not None

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if len(args) > len(names):
            raise TypeError(f"{api.name}() takes {len(names)} arguments but {len(args)} were given")
        bound = dict(zip(names, args))
        bound.update(kwargs)
        ctx = Context(None, state)
        bound[context_param] = ctx
        _CONTEXTS.append(ctx)
        return bound

    if inspect.isasyncgenfunction(method):
        async def agen(*args: Any, **kwargs: Any) -> Any:
            async for item in method(**bind(args, kwargs)):
                yield item
        return agen
    if inspect.iscoroutinefunction(method):
        async def coro(*args: Any, **kwargs: Any) -> Any:
            return await method(**bind(args, kwargs))
        return coro
    if inspect.isgeneratorfunction(method):
        def gen(*args: Any, **kwargs: Any) -> Any:
            yield from method(**bind(args, kwargs))
        return gen

    def call(*args: Any, **kwargs: Any) -> Any:
        return method(**bind(args, kwargs))
    return call
