"""The access log: one line per request on the ``bento.access`` logger (``logging.access`` settings).

Successful health probes (``GET /readyz``, ``/livez``, ``/healthz``: orchestrators and the API page poll
them every few seconds) are not logged; a failing one is.

Disabled, it is not in the request path at all; enabled, it costs one ``isEnabledFor`` check per request
while the logger is silenced (the server decides the level; nothing is configured here).

Building a ``LogRecord``, formatting its time and writing it costs about 10 µs a line, as much as the
rest of an echo request. So a request only appends its fields to a list; once per event-loop iteration
the lines are written. When the records would only reach the server's own stderr handler (the one
``bento serve`` installs, :data:`STDERR_HANDLER_NAME`, with nothing else attached on the way), the lines
are formatted here, exactly as that handler's formatter would, and written in one call; otherwise each
becomes a normal log record, so user handlers, filters and ``caplog`` see what they always saw.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Callable

from bento.core.config import AccessLog

ASGIApp = Callable[[Any, Any, Any], Any]
access_logger = logging.getLogger("bento.access")
PROBES = frozenset({"/readyz", "/livez", "/healthz"})
# The server's log line format (``bento serve`` sets it on its stderr handler, named STDERR_HANDLER_NAME).
LOG_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s [%(process)d] %(message)s"
LOG_DATEFMT = "%H:%M:%S"
STDERR_HANDLER_NAME = "bento.stderr"
Line = tuple[float, str]


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, config: AccessLog) -> None:
        self.app = app
        self.request_length = config.request_content_length
        self.response_length = config.response_content_length
        self.lines: list[Line] = []
        self._pid = os.getpid()
        self._second = -1
        self._stamp = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not access_logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        status = 500
        sent = 0

        async def observe(message: Any) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, observe)
        finally:
            if status >= 400 or scope["path"] not in PROBES:
                self._record(scope, status, sent, start)

    def _record(self, scope: Any, status: int, sent: int, start: float) -> None:
        millis = (time.perf_counter() - start) * 1000
        client = scope.get("client")
        line = f"{client[0]}:{client[1]} " if client else "- "
        line += f"{scope['method']} {scope['path']} {status} {millis:.1f}ms"
        if self.request_length:
            length = "0"
            for key, value in scope["headers"]:
                if key == b"content-length":
                    length = value.decode("latin-1")
                    break
            line += f" in={length}B"
        if self.response_length:
            line += f" out={sent}B"
        if not self.lines:
            _soon(self.flush)
        self.lines.append((time.time(), line))

    def flush(self) -> None:
        lines, self.lines = self.lines, []
        if not lines:
            return
        handler = _only_handler()
        if handler is None:
            for created, message in lines:
                record = access_logger.makeRecord(access_logger.name, logging.INFO, __file__, 0, message, (),
                                                  None)
                record.created = created
                record.msecs = (created - int(created)) * 1000
                access_logger.handle(record)
            return
        text = "".join(f"{self._time(created)} INFO    [{self._pid}] {message}\n" for created, message in lines)
        handler.acquire()
        try:
            handler.stream.write(text)
            handler.flush()
        except Exception:
            handler.handleError(access_logger.makeRecord(access_logger.name, logging.INFO, __file__, 0,
                                                         lines[0][1], (), None))
        finally:
            handler.release()

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%H:%M:%S", time.localtime(second))
        return f"{self._stamp}.{int((created - second) * 1000):03d}"


def _soon(callback: Callable[[], None]) -> None:
    try:
        asyncio.get_running_loop().call_soon(callback)
    except RuntimeError:  # no running loop: write now
        callback()


def _only_handler() -> logging.StreamHandler[Any] | None:
    """The server's stderr handler when it is the only place an INFO record of ``bento.access`` goes."""
    if access_logger.handlers or access_logger.filters or not access_logger.propagate:
        return None
    logger: logging.Logger | None = access_logger.parent
    found: logging.Handler | None = None
    while logger is not None:
        if logger.filters or (logger.handlers and (found is not None or len(logger.handlers) > 1)):
            return None
        if logger.handlers:
            found = logger.handlers[0]
        if not logger.propagate:
            break
        logger = logger.parent
    if (found is None or found.get_name() != STDERR_HANDLER_NAME or found.filters or found.level > logging.INFO
            or not isinstance(found, logging.StreamHandler) or found.formatter is None
            or found.formatter._fmt != LOG_FORMAT or found.formatter.datefmt != LOG_DATEFMT):
        return None
    return found


def wrap_access_log(app: ASGIApp, config: AccessLog) -> ASGIApp:
    return AccessLogMiddleware(app, config) if config.enabled else app
