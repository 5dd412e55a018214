"""``bento.depends(Service)`` when the dependency runs in another container: calls over HTTP by URL.

A deployment (``bento deploy``) runs one service per container and tells each caller where its
dependencies are with one environment variable per dependency, ``BENTO_DEPENDENCY_URL_<NAME>``
(:func:`bento.core.deployment.url_env`: the service name upper-cased, every character outside ``A-Z0-9`` turned into ``_``),
e.g. ``BENTO_DEPENDENCY_URL_IRIS=http://iris:3000``. A dependency named there is reached over HTTP; the
others keep the in-container Unix-socket path (:mod:`bento.runtime.remote`).

On the wire it is the public protocol, never pickle: the keyword arguments as a JSON object (multipart
when the API takes files), results decoded by the API's output kind and validated back into its declared
type. ``X-Bento-Timeout`` carries what is left of the caller's deadline.

Every DNS answer of the URL's host is a replica (:class:`~bento.runtime.replicas.Replicas`): calls go
round-robin over them, and a call whose connection fails before any answer arrives (refused, reset, a
replica that is going away), or that a replica answers 503 with ``Retry-After`` (still starting, shutting
down, full), is repeated on the next replica within the caller's deadline. Dependency APIs are therefore
expected to tolerate being called again when a connection drops before the answer, as pure model
inference does.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import typing
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Mapping

import httpx
from pydantic import ConfigDict, TypeAdapter

from bento.core import wire
from bento.core.deployment import url_env
from bento.core.errors import RemoteError, ServiceUnavailable
from bento.core.schema import normalize, strip_annotated
from bento.core.services import APIMethod, Dependency, Resolver, Service
from bento.runtime.replicas import MAX_ROUNDS, RETRYABLE, Replicas, backoff, should_retry

CONNECT_TIMEOUT = 2.0  # a replica that vanished from the overlay network may never answer a SYN


class URLResolver:
    """Makes ``bento.depends(Service)`` reach the services named in ``urls`` over HTTP; the others are
    left to ``fallback`` (the Unix-socket resolver, or None: in-process). Passed to
    :meth:`~bento.core.services.Service.instantiate` by the worker, like the socket resolver."""

    def __init__(self, urls: Mapping[str, str], fallback: Resolver | None = None) -> None:
        self.urls = dict(urls)
        self.fallback = fallback

    def __call__(self, dep: Dependency[Any]) -> Any:
        if dep.on is not None and dep.on.name in self.urls:
            return HTTPRemoteService(dep.on, self.urls[dep.on.name])
        return self.fallback(dep) if self.fallback is not None else None


class HTTPRemoteService:
    """A dependency in other containers. Attributes are its APIs, in their own calling convention."""

    def __init__(self, service: Service[Any], url: str, replicas: Replicas | None = None) -> None:
        self.service = service
        self.replicas = replicas or Replicas(url)
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        self._async: httpx.AsyncClient | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._methods = {name: HTTPRemoteMethod(self, api) for name, api in service.apis.items()}

    def __getattr__(self, name: str) -> Any:
        methods = self.__dict__.get("_methods", {})
        if name in methods:
            return methods[name]
        raise AttributeError(
            f"service {self.service.name} has no API `{name}` (its APIs: {', '.join(sorted(methods)) or 'none'})"
        )

    @property
    def to_async(self) -> _View:
        return _View(self, "async")

    @property
    def to_sync(self) -> _View:
        return _View(self, "sync")

    def sync_client(self) -> httpx.Client:
        with self._lock:
            if self._sync is None:
                self._sync = httpx.Client(timeout=None, limits=httpx.Limits(max_connections=None,
                                                                            max_keepalive_connections=64))
            return self._sync

    def async_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:  # connections belong to one loop
            self._async_loop = loop
            self._async = httpx.AsyncClient(timeout=None, limits=httpx.Limits(max_connections=None,
                                                                              max_keepalive_connections=64))
        return self._async

    def close(self) -> None:
        with self._lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None

    async def aclose(self) -> None:
        self.close()
        if self._async is not None:
            await self._async.aclose()
            self._async = None

    def __repr__(self) -> str:
        return f"<remote {self.service.name} at {self.replicas.url}>"


class _View:
    def __init__(self, remote: HTTPRemoteService, mode: str) -> None:
        self._remote = remote
        self._mode = mode

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._remote, name)
        return method.call_async if self._mode == "async" else method.call_sync


class HTTPRemoteMethod:
    """One API of a dependency reached by URL."""

    def __init__(self, remote: HTTPRemoteService, api: APIMethod) -> None:
        self.remote = remote
        self.api = api
        sig = api.signature
        self.names = [p.name for p in sig.params]
        self.files = {p.name for p in sig.params if p.is_file}
        self.texts = {p.name for p in sig.params if strip_annotated(p.annotation)[0] is str}
        self.multipart = sig.input_kind == "multipart"
        self.io = sig.io  # the result's kind: how an answer decodes (core.kinds)
        self.kind = sig.io.transport  # body, file or stream
        self.adapter = sig.output_adapter
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
        return self.call_async(*args, **kwargs) if self.api.is_async else self.call_sync(*args, **kwargs)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return self.call_sync(*args, **kwargs)

    def async_run(self, *args: Any, **kwargs: Any) -> Any:
        return self.call_async(*args, **kwargs)

    # ---- request -------------------------------------------------------------------------------
    def _prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """httpx options (body and headers, reusable for a retry) and the absolute deadline."""
        headers = {"accept": "text/event-stream" if self.kind == "stream" else "*/*"}
        left = wire.deadline_left(self.where)
        if left is not None:
            headers["x-bento-timeout"] = f"{left:.3f}"
        else:
            left = self.remote.service.config.traffic.timeout
        bound = wire.bind(self.where, self.names, args, kwargs)
        if not self.multipart:
            headers["content-type"] = "application/json"
            return {"headers": headers, "content": json.dumps(bound, default=_jsonable).encode()}, \
                time.monotonic() + left
        data: dict[str, Any] = {}
        files: list[tuple[str, Any]] = []
        for key, value in bound.items():
            if key in self.files:
                for item in value if isinstance(value, (list, tuple)) else [value]:
                    files.append((key, _upload(item)))
            elif isinstance(value, str) and key in self.texts:
                data[key] = value
            else:
                data[key] = json.dumps(value, default=_jsonable)
        return {"headers": headers, "data": data, "files": files}, time.monotonic() + left

    # ---- response ------------------------------------------------------------------------------
    def _result(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise wire.remote_error(response.status_code, response.content, response.reason_phrase)
        if self.kind == "file":
            return wire.save_download(response.content, response.headers.get("content-disposition", ""), "result",
                                      prefix="bento-result-")
        value = self.io.decode(response.headers.get("content-type", ""),
                               response.headers.get("content-disposition", ""), response.content)
        return self.adapter.validate_python(value) if self.io.typed else value

    def _item(self, data: str) -> Any:
        assert self.item_adapter is not None
        if self.item_base is str:
            return data
        if self.item_base is bytes:
            return data.encode()
        return self.item_adapter.validate_python(json.loads(data))

    def _failure(self, exc: BaseException | None) -> Exception:
        if isinstance(exc, RemoteError):  # every replica kept answering 503
            return exc
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return wire.timed_out(self.where)
        return ServiceUnavailable(f"{self.where} is not reachable at {self.remote.replicas.url}: {exc}")

    # ---- the two conventions -------------------------------------------------------------------
    def call_sync(self, *args: Any, **kwargs: Any) -> Any:
        options, until = self._prepare(args, kwargs)
        if self.kind == "stream":
            return self._stream_sync(options, until)
        client = self.remote.sync_client()
        replicas = self.remote.replicas
        last: BaseException | None = None
        for round_ in range(MAX_ROUNDS):
            if round_:
                time.sleep(backoff(round_, until))
            for address in replicas.order(fresh=round_ > 0):
                try:
                    response = client.post(replicas.url_for(address, self.api.route), timeout=_timeout(until),
                                           **_with_host(options, replicas))
                except RETRYABLE as exc:
                    last = exc
                    replicas.failed(address)
                except httpx.HTTPError as exc:
                    raise self._failure(exc) from None
                else:
                    if not should_retry(response.status_code, response.headers):
                        return self._result(response)
                    last = wire.remote_error(response.status_code, response.content)
                if time.monotonic() >= until:
                    raise self._failure(last) from None
        raise self._failure(last) from None

    def call_async(self, *args: Any, **kwargs: Any) -> Any:
        options, until = self._prepare(args, kwargs)
        if self.kind == "stream":
            return self._stream_async(options, until)
        return self._post_async(options, until)

    async def _post_async(self, options: dict[str, Any], until: float) -> Any:
        client = self.remote.async_client()
        replicas = self.remote.replicas
        last: BaseException | None = None
        for round_ in range(MAX_ROUNDS):
            if round_:
                await asyncio.sleep(backoff(round_, until))
            for address in await replicas.order_async(fresh=round_ > 0):
                try:
                    response = await client.post(replicas.url_for(address, self.api.route),
                                                 timeout=_timeout(until), **_with_host(options, replicas))
                except RETRYABLE as exc:
                    last = exc
                    replicas.failed(address)
                except httpx.HTTPError as exc:
                    raise self._failure(exc) from None
                else:
                    if not should_retry(response.status_code, response.headers):
                        return self._result(response)
                    last = wire.remote_error(response.status_code, response.content)
                if time.monotonic() >= until:
                    raise self._failure(last) from None
        raise self._failure(last) from None

    def _stream_sync(self, options: dict[str, Any], until: float) -> Iterator[Any]:
        replicas = self.remote.replicas
        address = replicas.order()[0]
        try:
            with self.remote.sync_client().stream("POST", replicas.url_for(address, self.api.route),
                                                  timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT),
                                                  **_with_host(options, replicas)) as response:
                if response.status_code >= 400:
                    raise wire.remote_error(response.status_code, response.read())
                for event in wire.events(response.iter_lines()):
                    yield self._item(event.data)
        except httpx.HTTPError as exc:
            replicas.failed(address)
            raise self._failure(exc) from None

    async def _stream_async(self, options: dict[str, Any], until: float) -> AsyncIterator[Any]:
        replicas = self.remote.replicas
        address = (await replicas.order_async())[0]
        try:
            async with self.remote.async_client().stream(
                    "POST", replicas.url_for(address, self.api.route),
                    timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT),
                    **_with_host(options, replicas)) as response:
                if response.status_code >= 400:
                    raise wire.remote_error(response.status_code, await response.aread())
                async for event in wire.aevents(response.aiter_lines()):
                    yield self._item(event.data)
        except httpx.HTTPError as exc:
            replicas.failed(address)
            raise self._failure(exc) from None


def _with_host(options: dict[str, Any], replicas: Replicas) -> dict[str, Any]:
    return {**options, "headers": {**options["headers"], "host": replicas.host_header}}


def _timeout(until: float) -> httpx.Timeout:
    # one second beyond the deadline: the callee answers 504 itself when its time is up
    left = max(0.001, until - time.monotonic()) + 1.0
    return httpx.Timeout(left, connect=min(left, CONNECT_TIMEOUT))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _upload(item: Any) -> tuple[str, bytes, str]:
    """A file part, read into memory so the same request can be sent again to another replica."""
    if isinstance(item, (bytes, bytearray)):
        return ("upload", bytes(item), "application/octet-stream")
    path = Path(item)
    ctype = getattr(item, "content_type", None) or "application/octet-stream"
    return (path.name, path.read_bytes(), ctype)
