"""Streaming responses for generator APIs: raw chunks, or Server-Sent Events when the client asks for
``text/event-stream``.

A sync generator advances in the API thread pool, one ``next`` per item; an async generator on the loop.
A client that disconnects stops the generator (it is closed, so ``finally`` blocks in user code run).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import json
import logging
from typing import Any, AsyncIterator, Callable

from bento.core.kinds.stream import ItemFraming
from bento.core.schema import Signature

END = object()
logger = logging.getLogger("bento.server")


def _step(gen: Any) -> Any:
    return next(gen, END)


class ThreadedIterator:
    """Drive a sync iterator from the event loop, each step in the thread pool, in the request's context."""

    def __init__(self, start: Callable[[], Any], pool: concurrent.futures.Executor,
                 context: contextvars.Context) -> None:
        self._start: Callable[[], Any] | None = start
        self._pool = pool
        self._context = context
        self._gen: Any = None
        self.pending: concurrent.futures.Future[Any] | None = None

    def _first(self) -> Any:
        assert self._start is not None
        self._gen = iter(self._start())
        return next(self._gen, END)

    async def next(self) -> Any:
        if self._start is not None and self._gen is None:
            fut = self._pool.submit(self._context.run, self._first)
        else:
            fut = self._pool.submit(self._context.run, _step, self._gen)
        self.pending = fut
        return await asyncio.wrap_future(fut)

    def close(self) -> None:
        """Close the generator once any running step has finished."""

        def do_close(_: Any = None) -> None:
            close = getattr(self._gen, "close", None)
            if close is not None:
                try:
                    self._pool.submit(close)
                except RuntimeError:  # pool already shut down
                    pass

        if self.pending is not None and not self.pending.done():
            self.pending.add_done_callback(do_close)
        else:
            do_close()


class AsyncStep:
    """The same ``next``/``close`` surface over an async generator."""

    def __init__(self, agen: Any) -> None:
        self._agen = agen.__aiter__()
        self.pending = None

    async def next(self) -> Any:
        return await anext(self._agen, END)

    def close(self) -> None:
        aclose = getattr(self._agen, "aclose", None)
        if aclose is not None:
            task = asyncio.get_running_loop().create_task(aclose())
            task.add_done_callback(lambda t: t.cancelled() or t.exception())


class StreamEncoder(ItemFraming):
    """The stream kind's item framing (``bento.core.kinds.stream``) with the runtime's JSON fallbacks."""

    def __init__(self, signature: Signature) -> None:
        from bento.runtime.codec import _fallback

        adapter = signature.output_adapter
        super().__init__(signature, lambda item: adapter.dump_json(item, fallback=_fallback))

    @staticmethod
    def sse_pickled(item: Any) -> bytes:
        """One event carrying the pickled item (base64): between services only, so ndarray dtypes,
        tuples and every other Python type arrive as they were yielded."""
        import base64
        import pickle

        return b"data: " + base64.b64encode(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)) + b"\n\n"


async def send_stream(receive: Any, send: Any, first: Any, steps: Any, encode: Callable[[Any], bytes],
                      content_type: bytes, status: int, extra: list[tuple[bytes, bytes]], name: str) -> None:
    """Send ``first`` and every following item of ``steps`` until END; stop if the client goes away.

    An exception raised by the generator after the first item ends the stream (logged with its traceback;
    SSE clients also get an ``event: error`` frame with the JSON error body).
    """
    sse = content_type.startswith(b"text/event-stream")
    task = asyncio.current_task()
    assert task is not None
    streaming = [True]
    gone = [False]

    async def watch() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if streaming[0]:
                    gone[0] = True
                    task.cancel()
                return

    watcher = asyncio.get_running_loop().create_task(watch())
    headers = [(b"content-type", content_type), (b"cache-control", b"no-cache"), *extra]
    if sse:
        headers.append((b"x-accel-buffering", b"no"))
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        item = first
        while item is not END:
            await send({"type": "http.response.body", "body": encode(item), "more_body": True})
            try:
                item = await steps.next()
            except Exception as exc:  # the status is sent already: end the stream, say why if SSE
                logger.exception("stream of %s failed after it started", name)
                if sse:
                    frame = json.dumps({"error": type(exc).__name__, "message": str(exc)})
                    await send({"type": "http.response.body", "body": f"event: error\ndata: {frame}\n\n".encode(),
                                "more_body": True})
                break
        streaming[0] = False
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not gone[0]:
            raise
        task.uncancel()  # the client left: not an error, nothing more to send
    finally:
        streaming[0] = False
        watcher.cancel()
