"""``bento.depends``: the SDK's way to declare a dependency, with its HTTP client for ``url=`` ones.

The data model (:class:`bento.core.services.Dependency`) knows nothing of HTTP; this module hands it
:class:`URLDependency` as the ``connect`` callable, so ``bento.depends(url=...)`` works the same in plain
Python and under ``bento serve``, and ``bento.depends(Service)`` is resolved by whoever instantiates the
service (in-process by default, over Unix sockets under ``bento serve``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bento.core.services import Dependency

if TYPE_CHECKING:
    from bento.client import AsyncHTTPClient, SyncHTTPClient


def depends(on: Any = None, *, url: str | None = None) -> Any:
    """Declare a dependency on another service: ``bento.depends(Service)``, ``bento.depends(url=...)``
    or both (a remote deployment of a known service, called with its conventions and types)."""
    return Dependency(on, url=url, connect=URLDependency)


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
            from bento.client import SyncHTTPClient

            self._sync = SyncHTTPClient(self.url)
        return _TypedView(self._sync, self.service, is_async=False)

    @property
    def to_async(self) -> _TypedView:
        if self._async is None:
            from bento.client import AsyncHTTPClient

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
        kind = api.signature.io if api is not None else None
        if api is None or kind is None or not (kind.typed and kind.transport == "body"):
            return method  # only typed single answers (JSON) are validated back into the declared type
        adapter = api.signature.output_adapter
        if not self._is_async:
            return lambda *args, **kwargs: adapter.validate_python(method(*args, **kwargs))

        async def call(*args: Any, **kwargs: Any) -> Any:
            return adapter.validate_python(await method(*args, **kwargs))

        return call
