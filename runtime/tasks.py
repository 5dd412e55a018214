"""``@bento.task`` methods: five routes per task API and the loop that runs queued tasks in each worker.

For a task API at ``/generate``::

    POST /generate/submit              the API's usual request body -> {"task_id", "status", ...}
    GET  /generate/status?task_id=ID   {"task_id", "status", "created_at", "executed_at"}
    GET  /generate/get?task_id=ID      the API's response, exactly as a direct call would have answered
    PUT  /generate/cancel?task_id=ID   cancels a queued task at once, a running one as soon as its worker sees it
    POST /generate/retry?task_id=ID    submits the same request again as a new task

A submission is validated (as the API would decode it) before it is queued, so a malformed one is a 400
and nothing is stored. The queue itself is :class:`bento.runtime.taskdb.TaskDB`; a task runs through a
private :class:`~bento.runtime.endpoint.APIEndpoint` of the API, so decoding, the call, errors and
encoding are those of a direct request (without ``traffic.timeout``: tasks are for long work).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qs

from bento.runtime import codec
from bento.runtime.limits import ClientGone, read_body
from bento.runtime.taskdb import FINISHED, TaskDB, TaskRow, default_path

if TYPE_CHECKING:
    from bento.core.services import APIMethod
    from bento.runtime.app import Runtime
    from bento.runtime.endpoint import APIEndpoint

logger = logging.getLogger("bento.server")
ASGIApp = Callable[[Any, Any, Any], Any]
_JSON = b"application/json"
_POLL = 0.05  # seconds between looks at the queue when idle (a local submit wakes the loop at once)
_BEAT = 1.0
_SWEEP = 5.0
OPERATIONS = {"submit": "POST", "status": "GET", "get": "GET", "cancel": "PUT", "retry": "POST"}


def result_ttl() -> float:
    """Seconds a finished task's result is kept: ``$BENTO_TASK_RESULT_TTL``, default 24 hours (as BentoML)."""
    return float(os.environ.get("BENTO_TASK_RESULT_TTL", 24 * 3600))


class TaskRunner:
    """The task APIs of one worker: their routes, and the loop that claims and runs queued tasks."""

    def __init__(self, runtime: Runtime, apis: list[APIMethod], make_endpoint: Callable[[APIMethod], APIEndpoint]):
        self.rt = runtime
        self.db = TaskDB(default_path(runtime.service.name), result_ttl=result_ttl())
        self.endpoints = {api.name: make_endpoint(api) for api in apis}
        for endpoint in self.endpoints.values():
            endpoint.timeout = float(os.environ.get("BENTO_TASK_TIMEOUT", 7 * 24 * 3600))
        self.apis = {api.name: api for api in apis}
        self.limit = max(1, runtime.config.threads)
        self.running: dict[str, asyncio.Task[None]] = {}
        self.wake = asyncio.Event()
        self.cancelled: set[str] = set()  # asked for by a client (not a worker shutdown)
        self._loop_task: asyncio.Task[None] | None = None

    # -- routes --------------------------------------------------------------------------------------

    def routes(self) -> dict[str, ASGIApp]:
        table: dict[str, ASGIApp] = {}
        for name, api in self.apis.items():
            for op, method in OPERATIONS.items():
                table[f"{api.route.rstrip('/')}/{op}"] = self._handler(name, op, method)
        return table

    def _handler(self, api: str, op: str, method: str) -> ASGIApp:
        async def handle(scope: Any, receive: Any, send: Any) -> None:
            if scope["method"] != method:
                await codec.send_error(send, 405, "MethodNotAllowed", f"{scope['path']} answers {method} only",
                                       headers=[(b"allow", method.encode())])
                return
            try:
                if op == "submit":
                    await self._submit(api, scope, receive, send)
                    return
                task_id = _task_id(scope)
                if op == "status":
                    row = await asyncio.to_thread(self.db.get, task_id, api)
                elif op == "cancel":
                    row = await self._cancel(task_id, api)
                elif op == "retry":
                    row = await self._retry(task_id, api)
                else:
                    await self._get(task_id, api, send)
                    return
                if row is None:
                    raise _NoTask(task_id)
                await codec.send_body(send, 200, _JSON, _dumps(row.status_json()), [])
            except ClientGone:
                return
            except _NoTask as exc:
                await codec.send_error(send, 404, "NotFound", f"no task {exc.args[0]!r} for {api}")
            except codec.RequestInvalid as exc:
                await codec.send_error(send, 400, exc.error_name, exc.message, exc.detail)
            except codec.UnsupportedMediaType as exc:
                await codec.send_error(send, 415, "UnsupportedMediaType", exc.message)
            except _Conflict as exc:
                await codec.send_error(send, 409, "Conflict", str(exc))
            except Exception as exc:  # noqa: BLE001 - the API must answer, whatever broke
                logger.exception("task %s %s failed", api, op)
                await codec.send_error(send, 500, type(exc).__name__, str(exc))

        return handle

    async def _submit(self, api: str, scope: Any, receive: Any, send: Any) -> None:
        endpoint = self.endpoints[api]
        content_type = b""
        content_length = None
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value
            elif key == b"content-length":
                content_length = int(value) if value.isdigit() else None
        body = await read_body(receive, content_length, endpoint.max_body)
        await _validate(endpoint, scope, content_type.decode("latin-1"), body)
        headers = [("content-type", content_type.decode("latin-1"))] if content_type else []
        row = await asyncio.to_thread(self.db.submit, api, headers, body)
        self.wake.set()
        await codec.send_body(send, 200, _JSON, _dumps(row.status_json()), [])

    async def _get(self, task_id: str, api: str, send: Any) -> None:
        row = await asyncio.to_thread(self.db.get, task_id, api, with_result=True)
        if row is None:
            raise _NoTask(task_id)
        if row.state not in FINISHED:
            raise _Conflict(f"task {task_id} is still in progress; poll {self.apis[api].route}/status")
        if row.response_status is None:
            raise _Conflict(f"task {task_id} was cancelled before it ran")
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in row.response_headers or []]
        await send({"type": "http.response.start", "status": row.response_status, "headers": headers})
        await send({"type": "http.response.body", "body": row.response_body or b""})

    async def _cancel(self, task_id: str, api: str) -> TaskRow | None:
        row = await asyncio.to_thread(self.db.get, task_id, api)
        if row is not None and row.state in ("success", "failure"):
            raise _Conflict(f"task {task_id} already finished ({row.wire_status}); nothing to cancel")
        row = await asyncio.to_thread(self.db.cancel, task_id, api)
        running = self.running.get(task_id)
        if running is not None:
            self.cancelled.add(task_id)
            running.cancel()
        return row

    async def _retry(self, task_id: str, api: str) -> TaskRow | None:
        row = await asyncio.to_thread(self.db.get, task_id, api, with_result=True)
        if row is None:
            return None
        if row.state not in FINISHED:
            raise _Conflict(f"task {task_id} is still in progress; cancel it first or wait")
        new = await asyncio.to_thread(self.db.submit, api, row.request_headers or [], row.request_body)
        self.wake.set()
        return new

    # -- the loop ------------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop_task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Worker shutdown: tasks still running go back to the queue for another worker or the next start."""
        if self._loop_task is not None:
            self._loop_task.cancel()
        running = list(self.running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self.db.close()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_beat = last_sweep = 0.0
        names = list(self.apis)
        while True:
            try:
                now = loop.time()
                if now - last_sweep > _SWEEP:
                    last_sweep = now
                    await asyncio.to_thread(_sweep, self.db)
                if now - last_beat > _BEAT and self.running:
                    last_beat = now
                    for task_id in await asyncio.to_thread(self.db.heartbeat, list(self.running)):
                        if task_id in self.running:
                            self.cancelled.add(task_id)
                            self.running[task_id].cancel()
                claimed = None
                if len(self.running) < self.limit:
                    claimed = await asyncio.to_thread(self.db.claim, names)
                if claimed is not None:
                    self.running[claimed.id] = loop.create_task(self._run(claimed))
                    continue
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), _POLL)
                except TimeoutError:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:  # a locked or broken database must not end the loop
                logger.exception("task queue")
                await asyncio.sleep(1.0)

    async def _run(self, row: TaskRow) -> None:
        response = _Collector()
        try:
            scope = {"type": "http", "method": "POST", "path": self.apis[row.api].route, "root_path": "",
                     "query_string": b"", "scheme": "http", "server": None, "client": None,
                     "http_version": "1.1", "extensions": {},
                     "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in row.request_headers or []]}
            await self.endpoints[row.api](scope, _replay(row.request_body), response)
        except asyncio.CancelledError:
            if row.id not in self.cancelled:  # the worker is stopping: hand the task back
                await asyncio.to_thread(self.db.release, row.id)
                return
            response.status = 499
            response.headers = [("content-type", "application/json")]
            response.body = bytearray(codec.error_body("Cancelled", f"task {row.id} was cancelled"))
        finally:
            self.running.pop(row.id, None)
            self.wake.set()
        self.cancelled.discard(row.id)
        if response.status == 503 and b"max_concurrency" in response.body:
            await asyncio.to_thread(self.db.release, row.id)  # overloaded now: run it later
            return
        state = "cancelled" if response.status == 499 else "success" if response.status < 400 else "failure"
        await asyncio.to_thread(self.db.finish, row.id, state, response.status or 500, response.headers,
                                bytes(response.body))


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _sweep(db: TaskDB) -> None:
    db.recover()
    db.expire()


async def _validate(endpoint: APIEndpoint, scope: Any, content_type: str, body: bytes) -> None:
    """Decode the body as the API will, so a malformed submission is refused before it is queued."""
    if not content_type or content_type.startswith("application/json"):
        endpoint.decoder.decode_json(body)
        return
    from starlette.requests import Request

    request = Request(scope)
    request._body = body
    with tempfile.TemporaryDirectory(prefix="bento-task-") as folder:
        await endpoint.decoder.decode(content_type, body, request, lambda: folder)


def _task_id(scope: Any) -> str:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("task_id")
    if not values or not values[0]:
        raise codec.RequestInvalid("task_id is required as a query parameter",
                                   [{"loc": ["query", "task_id"], "msg": "Field required", "type": "missing"}])
    return values[0]


def _replay(body: bytes) -> Callable[[], Any]:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # like a client that stays connected
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class _Collector:
    """An ASGI ``send`` that keeps the response (status, headers, body) for the queue."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.body = bytearray()

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])
                            if k.lower() != b"content-length"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
        elif message["type"] == "http.response.pathsend":
            with open(message["path"], "rb") as f:
                self.body += f.read()


class _NoTask(Exception):
    pass


class _Conflict(Exception):
    pass
