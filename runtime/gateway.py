"""A small HTTP gateway in front of a replicated service: ``python -m bento.runtime.gateway UPSTREAM``.

Why it exists: Docker Swarm's host-mode publishing binds the host port to one task per node, so a rolling
update of the entry service would have to stop the old task before starting the new one (the port is
taken), and requests would fail in between. ``bento deploy --publish-mode host`` therefore publishes
this gateway instead and keeps it unchanged across deploys; the entry service behind it rolls over
start-first like every other service.

Each request is read whole and sent to one replica of UPSTREAM (every DNS answer of its host, in turn,
see :mod:`bento.runtime.replicas`); when the connection fails before an answer, or a replica answers 503
with ``Retry-After`` (starting or stopping), the request goes to the next replica, for at most
:data:`RETRY_FOR` seconds. The answer is streamed back as it arrives (Server-Sent Events included).
The gateway's own health is ``GET /_bento/gateway/livez``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from typing import Any

import httpx

from bento.runtime.replicas import RETRYABLE, Replicas, backoff, should_retry

logger = logging.getLogger("bento.gateway")
RETRY_FOR = 15.0  # seconds a request may wait for some replica to take it
LIVEZ = "/_bento/gateway/livez"
# Hop-by-hop headers (RFC 9110 7.6.1) stay on their own connection; the upstream gets its own Host.
_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade",
        b"host"}


class Gateway:
    """The ASGI app: every request but :data:`LIVEZ` is forwarded to a replica of ``upstream``."""

    def __init__(self, upstream: str, replicas: Replicas | None = None) -> None:
        self.replicas = replicas or Replicas(upstream)
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._forward(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = httpx.AsyncClient(timeout=None, follow_redirects=False, limits=httpx.Limits(
                    max_connections=None, max_keepalive_connections=256))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == LIVEZ:
            await _answer(send, 200, {"status": "alive"})
            return
        assert self.client is not None
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        target = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP]
        headers.append((b"host", self.replicas.host_header.encode()))
        until = time.monotonic() + RETRY_FOR
        replicas = self.replicas
        last = "no replica answered"
        for round_ in range(1_000):
            if round_:
                await asyncio.sleep(backoff(min(round_, 3), until))
            for address in await replicas.order_async(fresh=round_ > 0):
                request = self.client.build_request(scope["method"], replicas.url_for(address, target),
                                                    headers=headers, content=bytes(body),
                                                    timeout=httpx.Timeout(None, connect=2.0))
                try:
                    response = await self.client.send(request, stream=True)
                except RETRYABLE as exc:
                    replicas.failed(address)
                    last = f"{address}: {exc or type(exc).__name__}"
                    continue
                except httpx.HTTPError as exc:
                    await _answer(send, 502, {"error": "BadGateway", "message": f"upstream failed: {exc}"})
                    return
                if should_retry(response.status_code, response.headers) and time.monotonic() < until:
                    await response.aclose()
                    last = f"{address}: 503"
                    continue
                await _relay(response, send)
                return
            if time.monotonic() >= until:
                break
        await _answer(send, 502, {"error": "BadGateway",
                                  "message": f"no replica of {replicas.url} took the request ({last})"})


async def _relay(response: httpx.Response, send: Any) -> None:
    try:
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        await response.aclose()


async def _answer(send: Any, status: int, payload: dict[str, str]) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> None:
    """Entry point of the gateway container."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bento.runtime.gateway", description=__doc__.split("\n")[0])
    parser.add_argument("upstream", help="URL of the service to forward to, e.g. http://entry:3000")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--timeout-graceful-shutdown", type=float, default=8.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s %(message)s")
    logger.info("gateway on %s:%d -> %s", args.host, args.port, args.upstream)
    uvicorn.run(Gateway(args.upstream), host=args.host, port=args.port, lifespan="on", ws="none",
                access_log=False, log_config=None, server_header=False, proxy_headers=False,
                timeout_graceful_shutdown=int(args.timeout_graceful_shutdown))


if __name__ == "__main__":
    main()
