"""Client side of ``@bento.task``: ``client.<task>.submit(...)`` returns a :class:`Task` handle.

    task = client.summarize.submit(text="...")      # queued; returns at once
    task.get_status()                               # ResultStatus.IN_PROGRESS / SUCCESS / FAILURE / CANCELLED
    summary = task.get()                            # the result (raises RemoteError for a failed task)
    task.cancel(); task.retry()                     # retry() submits the same request as a new Task

With :class:`~bento.AsyncHTTPClient` the same methods are coroutines. Calling ``client.<task>(...)``
directly submits and waits for the result (``wait()``).
"""

from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bento.core.errors import BentoError

if TYPE_CHECKING:
    from bento.client import Endpoint, _Client

POLL = 0.05


class ResultStatus(str, enum.Enum):
    """A task's status, with BentoML's values."""

    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"


class TaskMethod:
    """``client.<task>``: ``submit(...)`` queues a call; calling it submits and waits for the result."""

    def __init__(self, client: _Client, endpoint: Endpoint) -> None:
        self._client = client
        self._endpoint = endpoint

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        from bento.client import AsyncHTTPClient

        options, opened = self._endpoint.request(args, kwargs)
        options["headers"] = {k: v for k, v in options["headers"].items() if k != "accept"}
        if isinstance(self._client, AsyncHTTPClient):
            return self._asubmit(options, opened)
        try:
            response = self._client._http.post(f"{self._endpoint.route}/submit", **options)
        finally:
            for handle in opened:
                handle.close()
        return Task(_status(response)["task_id"], self._endpoint, self._client)

    async def _asubmit(self, options: dict[str, Any], opened: list[Any]) -> AsyncTask:
        try:
            response = await self._client._http.post(f"{self._endpoint.route}/submit", **options)
        finally:
            for handle in opened:
                handle.close()
        return AsyncTask(_status(response)["task_id"], self._endpoint, self._client)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from bento.client import AsyncHTTPClient

        if isinstance(self._client, AsyncHTTPClient):
            async def run() -> Any:
                return await (await self._asubmit(*self._endpoint.request(args, kwargs))).wait()

            return run()
        return self.submit(*args, **kwargs).wait()


@dataclass(frozen=True)
class Task:
    id: str
    endpoint: Endpoint
    client: Any

    def _get(self, op: str, method: str = "GET") -> Any:
        return self.client._http.request(method, f"{self.endpoint.route}/{op}", params={"task_id": self.id})

    def get_status(self) -> ResultStatus:
        return ResultStatus(_status(self._get("status"))["status"])

    def get(self) -> Any:
        from bento.client import _decode, _raise_for

        response = self._get("get")
        _raise_for(response, response.content)
        return _decode(self.endpoint, response)

    def cancel(self) -> ResultStatus:
        return ResultStatus(_status(self._get("cancel", "PUT"))["status"])

    def retry(self) -> Task:
        return Task(_status(self._get("retry", "POST"))["task_id"], self.endpoint, self.client)

    def wait(self, timeout: float | None = None) -> Any:
        """Poll until the task finished, then :meth:`get` its result."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.get_status() is ResultStatus.IN_PROGRESS:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"task {self.id} still in progress after {timeout}s")
            time.sleep(POLL)
        return self.get()


@dataclass(frozen=True)
class AsyncTask:
    id: str
    endpoint: Endpoint
    client: Any

    async def _get(self, op: str, method: str = "GET") -> Any:
        return await self.client._http.request(method, f"{self.endpoint.route}/{op}", params={"task_id": self.id})

    async def get_status(self) -> ResultStatus:
        return ResultStatus(_status(await self._get("status"))["status"])

    async def get(self) -> Any:
        from bento.client import _decode, _raise_for

        response = await self._get("get")
        _raise_for(response, response.content)
        return _decode(self.endpoint, response)

    async def cancel(self) -> ResultStatus:
        return ResultStatus(_status(await self._get("cancel", "PUT"))["status"])

    async def retry(self) -> AsyncTask:
        return AsyncTask(_status(await self._get("retry", "POST"))["task_id"], self.endpoint, self.client)

    async def wait(self, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while await self.get_status() is ResultStatus.IN_PROGRESS:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"task {self.id} still in progress after {timeout}s")
            await asyncio.sleep(POLL)
        return await self.get()


def _status(response: Any) -> dict[str, Any]:
    from bento.client import _raise_for

    _raise_for(response, response.content)
    data = response.json()
    if not isinstance(data, dict) or "task_id" not in data:
        raise BentoError(f"unexpected task answer from the server: {response.text[:200]}")
    return data
