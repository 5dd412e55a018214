"""``bento.depends(OtherService)`` under ``bento serve``: a proxy that calls the other service's workers.

The supervisor runs every dependency in its own worker processes, listening on a Unix socket in the
private runtime directory, and each worker creates its service with a :class:`SocketResolver` over
``{service name: socket path}``. A dependency attribute of that instance resolves to a
:class:`RemoteService` whose methods read like the local ones: ``self.dep.method(x)`` blocks for a sync API and returns an awaitable for an async one;
``.to_async`` / ``.to_sync`` give the other convention (each backed by its own connection pool, see
``bento.runtime.uds_client``, so sync code never needs an event loop and async code never blocks one).

On the wire (internal sockets only): ``POST <route>``, the keyword arguments pickled
(``application/vnd.bento.pickle``), the result pickled back, so arrays and other Python values keep their
types without a JSON round-trip. ``X-Bento-Timeout`` carries what is left of the caller's deadline; a
call whose deadline has already passed is not made. Errors come back as the usual JSON error body and are
raised as :class:`~bento.errors.RemoteError` with the remote status and message.

Two result kinds are not pickled: a ``Path`` (the file lives in the dependency's per-request directory,
which is deleted as soon as it has answered) is transferred as bytes and saved under
``<runtime dir>/results`` — local, readable, removed with the runtime directory on exit, and swept after
:data:`RESULT_TTL` seconds; a stream arrives as Server-Sent Events, one item per event, and each item is
validated back into the API's declared item type.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import shutil
import threading
import time
import typing
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Mapping

import httpx
from pydantic import ConfigDict, TypeAdapter

from bento.core import wire
from bento.core.errors import ServiceUnavailable
from bento.runtime.uds_client import AsyncPool, Response, SyncPool
from bento.core.schema import normalize, strip_annotated
from bento.core.services import APIMethod, Dependency, Service

PICKLE = "application/vnd.bento.pickle"
RESULT_TTL = 15 * 60
_BASE_URL = "http://bento.internal"


class SocketResolver:
    """Makes ``bento.depends(Service)`` reach services by name over the given Unix sockets.

    Passed to :meth:`~bento.core.services.Service.instantiate` (the worker does, through ``create_app``).
    ``mapping`` is ``{service name: socket path}`` (or that mapping as JSON, as in
    ``BENTO_DEPENDENCY_SOCKETS``). A service missing from it is instantiated in this process (the
    resolver answers None).
    """

    def __init__(self, mapping: Mapping[str, str] | str) -> None:
        self.sockets = dict(json.loads(mapping) if isinstance(mapping, str) else mapping)
        _quiet_internal_requests()

    def __call__(self, dep: Dependency[Any]) -> RemoteService | None:
        assert dep.on is not None
        path = self.sockets.get(dep.on.name)
        return None if path is None else RemoteService(dep.on, path)


class _InternalRequests(logging.Filter):
    """Drops httpx's per-request INFO line for calls between services (the callee's access log has them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _BASE_URL not in str(record.args) if record.args else True


def _quiet_internal_requests() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _InternalRequests) for f in logger.filters):
        logger.addFilter(_InternalRequests())


class RemoteService:
    """A dependency running in other processes. Attributes are its APIs, in their own calling convention."""

    def __init__(self, service: Service[Any], socket_path: str) -> None:
        self.service = service
        self.socket_path = socket_path
        self.results_dir = os.path.join(os.path.dirname(socket_path), "results")
        self._lock = threading.Lock()
        self._pool = SyncPool(socket_path)
        self._async_pool: AsyncPool | None = None
        self._sync: httpx.Client | None = None  # httpx only for streams
        self._async: httpx.AsyncClient | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._methods = {name: RemoteMethod(self, api) for name, api in service.apis.items()}

    def __getattr__(self, name: str) -> Any:
        methods = self.__dict__.get("_methods", {})
        if name in methods:
            return methods[name]
        raise AttributeError(
            f"service {self.service.name} has no API `{name}` (its APIs: {', '.join(sorted(methods)) or 'none'})"
        )

    @property
    def to_async(self) -> _View:
        """Every API as a coroutine function (streams as async iterators)."""
        return _View(self, "async")

    @property
    def to_sync(self) -> _View:
        """Every API as a blocking function (streams as iterators)."""
        return _View(self, "sync")

    def sync_pool(self) -> SyncPool:
        with self._lock:
            if self._pool.closed:
                self._pool = SyncPool(self.socket_path)
            return self._pool

    def async_pool(self) -> AsyncPool:
        self._bind_loop()
        if self._async_pool is None:
            self._async_pool = AsyncPool(self.socket_path)
        return self._async_pool

    def _bind_loop(self) -> None:
        """Async connections belong to one event loop (a worker has one; tests may run several)."""
        loop = asyncio.get_running_loop()
        if self._async_loop is not loop:
            self._async_loop = loop
            self._async_pool = None
            self._async = None

    def sync_client(self) -> httpx.Client:
        with self._lock:
            if self._sync is None:
                self._sync = httpx.Client(
                    transport=httpx.HTTPTransport(uds=self.socket_path), base_url=_BASE_URL, timeout=None,
                    limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
                )
            return self._sync

    def async_client(self) -> httpx.AsyncClient:
        self._bind_loop()
        if self._async is None:
            self._async = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=self.socket_path), base_url=_BASE_URL, timeout=None,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            )
        return self._async

    def close(self) -> None:
        """Close the sync connections (a later call opens new ones)."""
        with self._lock:
            self._pool.close()
            if self._sync is not None:
                self._sync.close()
                self._sync = None

    async def aclose(self) -> None:
        """Close both clients (call it on the event loop that used the async one)."""
        self.close()
        if self._async_pool is not None:
            await self._async_pool.aclose()
            self._async_pool = None
        if self._async is not None:
            await self._async.aclose()
            self._async = None

    def __repr__(self) -> str:
        return f"<remote {self.service.name} at {self.socket_path}>"


class _View:
    def __init__(self, remote: RemoteService, mode: str) -> None:
        self._remote = remote
        self._mode = mode

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._remote, name)
        return method.call_async if self._mode == "async" else method.call_sync


class RemoteMethod:
    """One API of a remote service. Calling it uses the API's own convention; ``.run`` (blocking) and
    ``.async_run`` (awaitable) are there for code written against legacy runners."""

    def __init__(self, remote: RemoteService, api: APIMethod) -> None:
        self.remote = remote
        self.api = api
        sig = api.signature
        self.names = [p.name for p in sig.params]
        self.kind = sig.io.transport  # body (pickled), file or stream (core.kinds)
        self.where = f"{remote.service.name}.{api.name}"
        self.item_adapter: TypeAdapter[Any] | None = None
        self.item_base: Any = None
        if self.kind == "stream":
            base, _ = strip_annotated(sig.output_annotation)
            args = typing.get_args(base)
            item = args[0] if args else Any
            self.item_base = strip_annotated(item)[0]
            self.item_adapter = TypeAdapter(normalize(item), config=ConfigDict(arbitrary_types_allowed=True))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.api.is_async:
            return self.call_async(*args, **kwargs)
        return self.call_sync(*args, **kwargs)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return self.call_sync(*args, **kwargs)

    def async_run(self, *args: Any, **kwargs: Any) -> Any:
        return self.call_async(*args, **kwargs)

    # ---- request -------------------------------------------------------------------------------
    def _prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        accept = {"stream": f"text/event-stream, {PICKLE}", "file": "*/*"}.get(self.kind, PICKLE)
        headers = {"content-type": PICKLE, "accept": accept}
        left = wire.deadline_left(self.where)
        if left is not None:
            headers["x-bento-timeout"] = f"{left:.3f}"
            limit = left + 1.0
        else:
            limit = self.remote.service.config.traffic.timeout + 1.0
        body = pickle.dumps(wire.bind(self.where, self.names, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        return {"headers": headers, "body": body, "timeout": limit}

    def _failure(self, exc: BaseException) -> Exception:
        if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
            return wire.timed_out(self.where)
        return ServiceUnavailable(f"{self.where} is not reachable at {self.remote.socket_path}: {exc}")

    # ---- response ------------------------------------------------------------------------------
    def _result(self, response: Response) -> Any:
        if response.status >= 400:
            raise wire.remote_error(response.status, response.body)
        if self.kind == "file":
            return self._save(response)
        return pickle.loads(response.body)

    def _save(self, response: Response) -> Path:
        _sweep(self.remote.results_dir)
        os.makedirs(self.remote.results_dir, mode=0o700, exist_ok=True)
        return wire.save_download(response.body, response.headers.get("content-disposition", ""), "result",
                                  prefix="result-", directory=self.remote.results_dir)

    def _item(self, data: str, pickled: bool) -> Any:
        assert self.item_adapter is not None
        if pickled:  # the callee sent each item pickled (x-bento-items: pickle): dtypes survive
            import base64

            return pickle.loads(base64.b64decode(data))
        if self.item_base is str:
            return data
        if self.item_base is bytes:  # SSE carries text: bytes items arrive UTF-8 decoded
            return data.encode()
        return self.item_adapter.validate_python(json.loads(data))

    # ---- the two conventions -------------------------------------------------------------------
    def call_sync(self, *args: Any, **kwargs: Any) -> Any:
        request = self._prepare(args, kwargs)
        if self.kind == "stream":
            return self._stream_sync(request)
        try:
            response = self.remote.sync_pool().request(self.api.route, **request)
        except OSError as exc:  # refused, reset, timed out (socket.timeout is TimeoutError)
            raise self._failure(exc) from None
        return self._result(response)

    def call_async(self, *args: Any, **kwargs: Any) -> Any:
        request = self._prepare(args, kwargs)
        if self.kind == "stream":
            return self._stream_async(request)
        return self._post_async(request)

    async def _post_async(self, request: dict[str, Any]) -> Any:
        try:
            response = await self.remote.async_pool().request(self.api.route, **request)
        except OSError as exc:
            raise self._failure(exc) from None
        return self._result(response)

    def _stream_sync(self, request: dict[str, Any]) -> Iterator[Any]:
        try:
            with self.remote.sync_client().stream("POST", **_httpx_options(self.api.route, request)) as response:
                if response.status_code >= 400:
                    raise wire.remote_error(response.status_code, response.read())
                pickled = response.headers.get("x-bento-items") == "pickle"
                for event in wire.events(response.iter_lines()):
                    yield self._item(event.data, pickled)
        except httpx.HTTPError as exc:
            raise self._failure(exc) from None

    async def _stream_async(self, request: dict[str, Any]) -> AsyncIterator[Any]:
        try:
            async with self.remote.async_client().stream("POST", **_httpx_options(self.api.route, request)) as response:
                if response.status_code >= 400:
                    raise wire.remote_error(response.status_code, await response.aread())
                pickled = response.headers.get("x-bento-items") == "pickle"
                async for event in wire.aevents(response.aiter_lines()):
                    yield self._item(event.data, pickled)
        except httpx.HTTPError as exc:
            raise self._failure(exc) from None


def _httpx_options(route: str, request: dict[str, Any]) -> dict[str, Any]:
    # a stream may run longer than the deadline of its first item (which the server enforces)
    return {"url": route, "headers": request["headers"], "content": request["body"],
            "timeout": httpx.Timeout(None, connect=5.0)}


def _sweep(directory: str) -> None:
    """Remove result folders older than :data:`RESULT_TTL` (best effort; other workers share the dir)."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    cutoff = time.time() - RESULT_TTL
    for entry in entries:
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry.path, ignore_errors=True)
        except FileNotFoundError:
            pass
