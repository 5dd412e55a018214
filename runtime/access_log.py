"""The access log: one line per request on the ``bento.access`` logger (``logging.access`` settings).

Successful health probes (``GET /readyz``, ``/livez``, ``/healthz``: orchestrators and the API page poll
them every few seconds) are not logged; a failing one is.

Disabled, it is not in the request path at all; enabled, it costs one ``isEnabledFor`` check per request
while the logger is silenced (the server decides the level; nothing is configured here).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from bento.core.config import AccessLog

ASGIApp = Callable[[Any, Any, Any], Any]
access_logger = logging.getLogger("bento.access")
PROBES = frozenset({"/readyz", "/livez", "/healthz"})


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, config: AccessLog) -> None:
        self.app = app
        self.request_length = config.request_content_length
        self.response_length = config.response_content_length

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
                self._log(scope, status, sent, start)

    def _log(self, scope: Any, status: int, sent: int, start: float) -> None:
        millis = (time.perf_counter() - start) * 1000
        client = scope.get("client")
        parts = [f"{client[0]}:{client[1]}" if client else "-", scope["method"], scope["path"],
                 str(status), f"{millis:.1f}ms"]
        if self.request_length:
            length = next((v.decode() for k, v in scope["headers"] if k == b"content-length"), "0")
            parts.append(f"in={length}B")
        if self.response_length:
            parts.append(f"out={sent}B")
        access_logger.info(" ".join(parts))


def wrap_access_log(app: ASGIApp, config: AccessLog) -> ASGIApp:
    return AccessLogMiddleware(app, config) if config.enabled else app
