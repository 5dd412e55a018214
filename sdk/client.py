"""HTTP clients for a running service: ``bento.SyncHTTPClient(url)`` and ``bento.AsyncHTTPClient(url)``.

A client reads the server's ``/docs.json`` once and then has one method per API, named like the API::

    with bento.SyncHTTPClient("http://localhost:3000") as client:
        summary = client.summarize(text="...")          # JSON object of named parameters
        path = client.caption(image=Path("cat.png"))    # Path/bytes parameters are uploaded (multipart)
        for chunk in client.generate(prompt="hi"):      # streaming APIs iterate their items
            ...

Results come back by the API's output kind: JSON values, ``str`` for text, ``bytes``, a ``Path`` to a
downloaded file, a PIL image or a pandas DataFrame (where those libraries are installed here; else bytes or
the JSON value), or an iterator for streams. PIL images and DataFrames are accepted as arguments. An error answer raises :class:`~bento.errors.RemoteError`
with the server's message and status. Only httpx is needed. The async client has the same methods as
coroutines (streams as async iterators). Inside a running API the remaining request time bounds each call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import mimetypes
import os
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import httpx

from bento.core import kinds, wire
from bento.core.kinds.frame import is_frame, to_jsonable
from bento.core.kinds.image import encode_image, is_image
from bento.errors import InvalidArgument, NotFound, ServiceUnavailable

DEFAULT_TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One API as described by ``/docs.json``."""

    name: str
    route: str
    params: tuple[str, ...]
    file_params: frozenset[str]
    text_params: frozenset[str]
    multipart: bool
    output_kind: str
    item_is_text: bool = False
    is_task: bool = False  # @bento.task: ``route`` is the task's base route (``/name``)
    root_input: bool = False  # the API's one positional-only parameter takes the whole body

    @property
    def is_stream(self) -> bool:
        kind = kinds.find(self.output_kind)
        return kind is not None and kind.transport == "stream"

    @classmethod
    def from_operation(cls, route: str, op: dict[str, Any]) -> Endpoint:
        content = op.get("requestBody", {}).get("content", {})
        multipart = "multipart/form-data" in content
        schema = (content.get("multipart/form-data") or content.get("application/json") or {}).get("schema", {})
        props: dict[str, Any] = schema.get("properties", {})
        files = {n for n, p in props.items() if p.get("format") == "binary"
                 or p.get("items", {}).get("format") == "binary"}
        texts = {n for n, p in props.items() if p.get("type") == "string" and n not in files}
        responses = op.get("responses", {}).get("200", {}).get("content", {})
        kind = op.get("x-bento-output-kind") or _guess_kind(responses)
        item: dict[str, Any] = next((c.get("x-item") for c in responses.values() if "x-item" in c), {}) or {}
        is_task = bool(op.get("x-bento-task"))
        if is_task:
            route = route.removesuffix("/submit")
        return cls(
            name=op.get("operationId") or route.strip("/").replace("/", "_"),
            route=route,
            params=tuple(props),
            file_params=frozenset(files),
            text_params=frozenset(texts),
            multipart=multipart,
            output_kind=kind,
            item_is_text=item.get("type") == "string",
            is_task=is_task,
            root_input=bool(op.get("x-bento-root-input")),
        )

    def request(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        """httpx request options, and the files opened for them (close them after sending)."""
        bound = wire.bind(self.name, self.params, args, kwargs)
        headers = {"accept": "text/event-stream"} if self.is_stream else {}
        if self.root_input and self.params:
            return self._root_request(bound.get(self.params[0]), headers)
        if not self.multipart:
            body = json.dumps(bound, default=_jsonable).encode()
            return {"content": body, "headers": {**headers, "content-type": "application/json"}}, []
        data: dict[str, Any] = {}
        files: list[tuple[str, Any]] = []
        opened: list[Any] = []
        for key, value in bound.items():
            if key in self.file_params:
                for item in value if isinstance(value, (list, tuple)) else [value]:
                    files.append((key, _upload(item, opened)))
            elif isinstance(value, str) and key in self.text_params:
                data[key] = value
            else:
                data[key] = json.dumps(value, default=_jsonable)
        return {"data": data, "files": files, "headers": headers}, opened


    def _root_request(self, value: Any, headers: dict[str, str]) -> tuple[dict[str, Any], list[Any]]:
        """The body of a root-input API: text, bytes, a file's content, or JSON."""
        if isinstance(value, str) and self.params[0] not in self.file_params:
            return {"content": value.encode(), "headers": {**headers, "content-type": "text/plain; charset=utf-8"}}, []
        if isinstance(value, (bytes, bytearray)):
            return {"content": bytes(value), "headers": {**headers, "content-type": "application/octet-stream"}}, []
        if is_image(value):
            media, body = encode_image(value, None)
            return {"content": body, "headers": {**headers, "content-type": media}}, []
        if isinstance(value, (str, Path)):
            path = Path(value)
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return {"content": path.read_bytes(), "headers": {**headers, "content-type": media}}, []
        body = json.dumps(value, default=_jsonable).encode()
        return {"content": body, "headers": {**headers, "content-type": "application/json"}}, []


def _guess_kind(content: dict[str, Any]) -> str:
    if "text/event-stream" in content:
        return "stream"
    if "application/json" in content:
        return "json"
    if any(c.startswith("text/") for c in content):
        return "text"
    return "bytes"


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if is_frame(value):  # a pandas DataFrame: records, the orientation BentoML reads by default
        return to_jsonable(value, "records")
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):  # pydantic models
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _upload(item: Any, opened: list[Any]) -> Any:
    if isinstance(item, (bytes, bytearray)):
        return ("upload", bytes(item), "application/octet-stream")
    if is_image(item):  # a PIL image: sent in its own format (PNG for one made in memory)
        media, body = encode_image(item, None)
        return ("image." + media.rsplit("/", 1)[-1], body, media)
    path = Path(item)
    handle = open(path, "rb")
    opened.append(handle)
    return (path.name, handle, mimetypes.guess_type(path.name)[0] or "application/octet-stream")


def _raise_for(response: httpx.Response, body: bytes) -> None:
    if response.status_code >= 400:
        raise wire.remote_error(response.status_code, body, response.reason_phrase)


def _decode(endpoint: Endpoint, response: httpx.Response) -> Any:
    # a kind this client does not know (a newer server's) is read by the generic rules of the base kind
    kind = kinds.find(endpoint.output_kind) or kinds.IOKind()
    return kind.decode(response.headers.get("content-type", ""), response.headers.get("content-disposition", ""),
                       response.content)


def _item(endpoint: Endpoint, data: str) -> Any:
    if endpoint.item_is_text:
        return data
    try:
        return json.loads(data)
    except ValueError:
        return data


def _timeout(default: float) -> httpx.Timeout:
    left = wire.deadline_left("the remote service")
    return httpx.Timeout(default if left is None else min(default, left), connect=min(default, 10.0))


def _endpoints(document: dict[str, Any]) -> dict[str, Endpoint]:
    found = {}
    for route, item in document.get("paths", {}).items():
        op = item.get("post")
        if op is not None:
            endpoint = Endpoint.from_operation(route, op)
            found[endpoint.name] = endpoint
    return found


class _Client:
    """What both clients share. Constructor arguments are BentoML's: ``media_type`` (JSON only),
    ``service`` (accepted; the server's /docs.json is the schema), ``server_ready_timeout`` (wait for
    /readyz first), ``token`` (a bearer token, else ``BENTO_CLOUD_API_KEY``), ``timeout``, ``app`` (not
    supported: pass the URL of a running server)."""

    def __init__(self, url: str, timeout: float, headers: dict[str, str] | None, *, media_type: str,
                 token: str | None, app: Any) -> None:
        if media_type != "application/json":
            raise InvalidArgument(f"media_type={media_type!r}: only application/json is supported")
        if app is not None:
            raise InvalidArgument("app=... (calling an ASGI app in process) is not supported; serve it and pass its URL")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})
        token = token or os.environ.get("BENTO_CLOUD_API_KEY")
        if token:
            self.headers.setdefault("Authorization", f"Bearer {token}")

    def _set_endpoints(self, response: httpx.Response) -> None:
        if response.status_code == 404:
            raise NotFound(f"{self.url} has no /docs.json; is it a Bento (or BentoML) service?")
        _raise_for(response, response.content)
        self.endpoints = _endpoints(response.json())

    def __getattr__(self, name: str) -> Callable[..., Any]:
        endpoint = self._endpoint(name)
        if endpoint.is_task:
            from bento.task_client import TaskMethod

            return TaskMethod(self, endpoint)
        return lambda *args, **kwargs: self.call(endpoint.name, *args, **kwargs)

    def call(self, api: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def _unreachable(self, exc: Exception) -> ServiceUnavailable:
        return ServiceUnavailable(f"cannot reach {self.url}: {exc}")

    def _endpoint(self, name: str) -> Endpoint:
        endpoints = self.__dict__.get("endpoints", {})
        if name not in endpoints:
            raise AttributeError(f"{self.url} has no API `{name}` (its APIs: {', '.join(sorted(endpoints))})")
        return endpoints[name]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


class SyncHTTPClient(_Client):
    """Blocking client; ``client.<api>(...)`` calls the API. Close it (or use ``with``) when done."""

    def __init__(self, url: str, *, media_type: str = "application/json", service: Any = None,
                 server_ready_timeout: float | None = None, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, app: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(url, timeout, headers, media_type=media_type, token=token, app=app)
        self._http = httpx.Client(base_url=self.url, headers=self.headers, timeout=timeout)
        try:
            if server_ready_timeout is not None and server_ready_timeout > 0:
                self.wait_until_server_ready(server_ready_timeout)
            self._set_endpoints(self._http.get("/docs.json", timeout=min(timeout, 30.0)))
        except httpx.HTTPError as exc:
            self._http.close()
            raise self._unreachable(exc) from None
        except BaseException:
            self._http.close()
            raise

    def wait_until_server_ready(self, timeout: float | None = None) -> None:
        """Poll /readyz until it answers 200; ServiceUnavailable after ``timeout`` seconds."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                if self._http.get("/readyz", timeout=5.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"{self.url} was not ready within {timeout}s")
            time.sleep(0.2)

    def call(self, api: str, *args: Any, **kwargs: Any) -> Any:
        endpoint = self._endpoint(api)
        options, opened = endpoint.request(args, kwargs)
        if endpoint.is_stream:
            return self._stream(endpoint, options, opened)
        try:
            response = self._http.post(endpoint.route, timeout=_timeout(self.timeout), **options)
        except httpx.TimeoutException:
            raise wire.timed_out(f"{self.url}{endpoint.route}") from None
        finally:
            for handle in opened:
                handle.close()
        _raise_for(response, response.content)
        return _decode(endpoint, response)

    def _stream(self, endpoint: Endpoint, options: dict[str, Any], opened: list[Any]) -> Iterator[Any]:
        try:
            with self._http.stream("POST", endpoint.route, timeout=_timeout(self.timeout), **options) as response:
                _raise_for(response, response.read() if response.status_code >= 400 else b"")
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    yield from response.iter_text() if endpoint.item_is_text else response.iter_bytes()
                    return
                for event in wire.events(response.iter_lines()):
                    yield _item(endpoint, event.data)
        finally:
            for handle in opened:
                handle.close()

    def is_ready(self) -> bool:
        return self._http.get("/readyz").status_code == 200

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SyncHTTPClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncHTTPClient(_Client):
    """The same methods as coroutines (streams as async iterators). The constructor does no I/O: the schema
    is read on ``async with`` or on the first call."""

    def __init__(self, url: str, *, media_type: str = "application/json", service: Any = None,
                 server_ready_timeout: float | None = None, token: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, app: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(url, timeout, headers, media_type=media_type, token=token, app=app)
        self._http = httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=timeout)
        self._ready_timeout = server_ready_timeout

    async def _setup(self) -> None:
        if "endpoints" in self.__dict__:
            return
        if self._ready_timeout is not None and self._ready_timeout > 0:
            await self.wait_until_server_ready(self._ready_timeout)
        try:
            response = await self._http.get("/docs.json", timeout=min(self.timeout, 30.0))
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        self._set_endpoints(response)

    async def wait_until_server_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not await self._ready():
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"{self.url} was not ready within {timeout}s")
            await asyncio.sleep(0.2)

    async def _ready(self) -> bool:
        try:
            return (await self._http.get("/readyz", timeout=5.0)).status_code == 200
        except httpx.HTTPError:
            return False

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("__") or name == "endpoints":
            raise AttributeError(name)
        if "endpoints" not in self.__dict__:  # schema not read yet: resolve the API when awaited / iterated
            return _DeferredMethod(self, name)
        return super().__getattr__(name)

    def call(self, api: str, *args: Any, **kwargs: Any) -> Any:
        """A coroutine for the API's result, or an async iterator for a streaming API."""
        if "endpoints" not in self.__dict__:
            return _Deferred(self, api, args, kwargs)
        endpoint = self._endpoint(api)
        options, opened = endpoint.request(args, kwargs)
        if endpoint.is_stream:
            return self._stream(endpoint, options, opened)
        return self._call(endpoint, options, opened)

    async def _call(self, endpoint: Endpoint, options: dict[str, Any], opened: list[Any]) -> Any:
        try:
            response = await self._http.post(endpoint.route, timeout=_timeout(self.timeout), **options)
        except httpx.TimeoutException:
            raise wire.timed_out(f"{self.url}{endpoint.route}") from None
        finally:
            for handle in opened:
                handle.close()
        _raise_for(response, response.content)
        return _decode(endpoint, response)

    async def _stream(self, endpoint: Endpoint, options: dict[str, Any], opened: list[Any]) -> AsyncIterator[Any]:
        try:
            async with self._http.stream("POST", endpoint.route, timeout=_timeout(self.timeout),
                                         **options) as response:
                _raise_for(response, await response.aread() if response.status_code >= 400 else b"")
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    chunks = response.aiter_text() if endpoint.item_is_text else response.aiter_bytes()
                    async for chunk in chunks:
                        yield chunk
                    return
                async for event in wire.aevents(response.aiter_lines()):
                    yield _item(endpoint, event.data)
        finally:
            for handle in opened:
                handle.close()

    async def is_ready(self) -> bool:
        return (await self._http.get("/readyz")).status_code == 200

    async def aclose(self) -> None:
        await self._http.aclose()

    async def close(self) -> None:
        await self.aclose()

    async def __aenter__(self) -> AsyncHTTPClient:
        await self._setup()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class _DeferredMethod:
    """``client.<name>`` before the async client read the schema: a call, or ``.submit()`` of a task."""

    def __init__(self, client: AsyncHTTPClient, name: str) -> None:
        self.client, self.name = client, name

    def __call__(self, *args: Any, **kwargs: Any) -> _Deferred:
        return _Deferred(self.client, self.name, args, kwargs)

    async def submit(self, *args: Any, **kwargs: Any) -> Any:
        await self.client._setup()
        return await getattr(self.client, self.name).submit(*args, **kwargs)


class _Deferred:
    """A call made before the async client read the schema: awaitable (a result) and async-iterable (a stream)."""

    def __init__(self, client: AsyncHTTPClient, api: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.client, self.api, self.args, self.kwargs = client, api, args, kwargs

    async def _resolved(self) -> Any:
        await self.client._setup()
        return self.client.call(self.api, *self.args, **self.kwargs)

    def __await__(self) -> Any:
        async def result() -> Any:
            call = await self._resolved()
            if not hasattr(call, "__await__"):
                raise TypeError(f"API `{self.api}` streams: iterate it with `async for`")
            return await call

        return result().__await__()

    def __aiter__(self) -> AsyncIterator[Any]:
        async def items() -> AsyncIterator[Any]:
            call = await self._resolved()
            if not hasattr(call, "__aiter__"):
                raise TypeError(f"API `{self.api}` does not stream: `await` it")
            async for item in call:
                yield item

        return items()


class URLDependency:
    """``bento.depends(url=..., on=Service)``: a separately deployed service reached over HTTP/JSON.

    Attributes are the remote APIs. With the service class given, each follows its API's calling
    convention and JSON results are validated back into the declared types (arrays come back as arrays);
    without it, calls block. ``.to_async`` / ``.to_sync`` pick a convention explicitly. The clients are
    created on first use, so the remote service may start after this one.
    """

    def __init__(self, url: str, service: Any = None) -> None:
        self.url = url
        self.service = service
        self._sync: SyncHTTPClient | None = None
        self._async: AsyncHTTPClient | None = None

    @property
    def to_sync(self) -> _TypedView:
        if self._sync is None:
            self._sync = SyncHTTPClient(self.url)
        return _TypedView(self._sync, self.service, is_async=False)

    @property
    def to_async(self) -> _TypedView:
        if self._async is None:
            self._async = AsyncHTTPClient(self.url)
        return _TypedView(self._async, self.service, is_async=True)

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        self.close()
        if self._async is not None:
            await self._async.aclose()
            self._async = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        api = self.service.apis.get(name) if self.service is not None else None
        view = self.to_async if api is not None and api.is_async else self.to_sync
        return getattr(view, name)

    def __repr__(self) -> str:
        return f"<dependency on {self.url}>"


class _TypedView:
    def __init__(self, client: Any, service: Any, is_async: bool) -> None:
        self._client = client
        self._service = service
        self._is_async = is_async

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        api = self._service.apis.get(name) if self._service is not None else None
        if api is None or api.signature.output_kind != "json":
            return method
        adapter = api.signature.output_adapter
        if not self._is_async:
            return lambda *args, **kwargs: adapter.validate_python(method(*args, **kwargs))

        async def call(*args: Any, **kwargs: Any) -> Any:
            return adapter.validate_python(await method(*args, **kwargs))

        return call
