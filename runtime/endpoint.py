"""One API as an ASGI handler: concurrency slot, body, decoding, the call (thread pool or event loop) under
``traffic.timeout`` and the request deadline, then the response. Every failure becomes a JSON error body.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from typing import TYPE_CHECKING, Any

from bento.core.context import Context
from bento.core.errors import BentoError
from bento.runtime import codec, npy, streaming
from bento.core.deadline import request_deadline
from bento.runtime.limits import ClientGone, Slot, read_body

if TYPE_CHECKING:
    from bento.runtime.app import Runtime
    from bento.core.services import APIMethod

logger = logging.getLogger("bento.server")
_ALLOW = [(b"allow", b"POST")]
_RETRY = [(b"retry-after", b"1")]
_PICKLE = codec.PICKLE_TYPE.encode()
_SSE = b"text/event-stream"


class APIEndpoint:
    """Built once per API at app creation; :meth:`bind` attaches the service instance after ``__init__``."""

    def __init__(self, api: APIMethod, runtime: Runtime) -> None:
        sig = api.signature
        self.api = api
        self.rt = runtime
        self.decoder = codec.Decoder(sig, runtime.internal)
        self.encoder = codec.Encoder(sig)
        self.kind = sig.io.transport  # body, file or stream: the glue that sends results (core.kinds)
        self.stream_encoder = streaming.StreamEncoder(sig) if self.kind == "stream" else None
        self.context_param = sig.context_param
        self.multipart = sig.input_kind == "multipart"
        self.is_async = api.is_async
        self.timeout = runtime.config.traffic.timeout
        self.max_body = runtime.config.http.max_body_size
        self.func: Any = None
        self.batched: Any = None

    def bind(self, instance: Any) -> None:
        self.func = self.api.func.__get__(instance, type(instance))
        if self.api.signature.root_input:  # `def f(self, body, /)`: the decoded body goes in positionally
            bound, name = self.func, self.api.signature.params[0].name
            self.func = lambda **kwargs: bound(kwargs[name])
        if self.api.batchable and self.api.signature.io.batchable:
            from bento.runtime.batching import wrap_batchable

            self.batched = wrap_batchable(self.api, self._plain_call)

    async def _plain_call(self, kwargs: dict[str, Any]) -> Any:
        """Invoke the API once (used by the batcher, which manages its own requests' slots)."""
        if self.is_async:
            return await self.func(**kwargs)
        return await self.rt.pool.call(self.func, kwargs)[1]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["method"] != "POST":
            await codec.send_error(send, 405, "MethodNotAllowed",
                                   f"{scope['path']} is an API; call it with POST", headers=_ALLOW)
            return
        rt = self.rt
        if self.func is None:
            await codec.send_error(send, 503, "ServiceUnavailable", "the service is still starting",
                                   headers=_RETRY)
            return
        if not rt.state.try_acquire():
            await codec.send_error(send, 503, "ServiceUnavailable",
                                   "too many requests in flight (traffic.max_concurrency); retry later",
                                   headers=_RETRY)
            return
        slot = Slot(rt.state.release)
        ctx: Context | None = None
        try:
            content_type = b""
            content_length = None
            accept = b""
            timeout = self.timeout
            for key, value in scope["headers"]:
                if key == b"content-type":
                    content_type = value
                elif key == b"content-length":
                    content_length = int(value) if value.isdigit() else None
                elif key == b"accept":
                    accept = value
                elif key == b"x-bento-timeout":  # a caller's remaining deadline can only shorten ours
                    try:
                        timeout = max(0.0, min(timeout, float(value)))
                    except ValueError:
                        pass
            body = await read_body(receive, content_length, self.max_body)
            io = scope.get("bento.io")  # another wire protocol for this API (runtime/oip.py)
            if io is not None:
                kwargs = io.decode(self.decoder, body)
            # No content type only with no body: a body without one is a browser's cross-origin simple request.
            elif self.context_param is None and (content_type.startswith(b"application/json")
                                                 or not (content_type or body)):
                kwargs = self.decoder.decode_json(body)
            else:
                from starlette.requests import Request

                request = Request(scope, receive)
                request._body = body
                if self.context_param is not None or self.multipart:
                    ctx = Context(request, rt.user_state)
                kwargs = await self.decoder.decode(
                    content_type.decode("latin-1"), body, request,
                    _temp_dir_of(ctx) if ctx is not None else _no_uploads,
                )
            if self.context_param is not None:
                kwargs[self.context_param] = ctx
            token = request_deadline.set(time.monotonic() + timeout)
            try:
                if self.kind == "stream":
                    await self._stream(scope, receive, send, kwargs, timeout, accept, ctx, slot)
                    return
                result = await self._invoke(kwargs, timeout, slot)
            finally:
                request_deadline.reset(token)
            await self._respond(scope, receive, send, result, accept, ctx)
        except ClientGone:
            return
        except DeadlineExceeded:
            await _try_error(send, 504, "Timeout",
                             f"{self.api.name} did not answer within {timeout:g}s (traffic.timeout)")
        except codec.RequestInvalid as exc:
            await _try_error(send, 400, exc.error_name, exc.message, exc.detail)
        except BentoError as exc:
            await _try_error(send, exc.http_status, type(exc).__name__, exc.message)
        except Exception as exc:
            logger.exception("API %s failed", self.api.name)
            await _try_error(send, 500, type(exc).__name__, str(exc))
        finally:
            slot.release()
            if ctx is not None:
                slot.then(ctx.close)

    async def _invoke(self, kwargs: dict[str, Any], timeout: float, slot: Slot) -> Any:
        limit = asyncio.timeout(timeout)
        try:
            async with limit:
                if self.batched is not None:
                    return await self.batched(kwargs)
                if self.is_async:
                    return await self.func(**kwargs)
                call, waiter = self.rt.pool.call(self.func, kwargs)
                slot.release_after(call)  # type: ignore[arg-type]
                return await waiter
        except TimeoutError:
            if limit.expired():
                raise DeadlineExceeded() from None
            raise

    async def _respond(self, scope: Any, receive: Any, send: Any, result: Any, accept: bytes,
                       ctx: Context | None) -> None:
        status = 200
        extra: codec.Headers = []
        if ctx is not None:
            status = ctx.response.status_code
            extra = codec.context_headers(ctx.response)
        io = scope.get("bento.io")
        if io is not None:
            content_type, body, headers = io.encode(result)
            await codec.send_body(send, status, content_type, body, [*headers, *extra])
        elif accept and npy.NPY_TYPE in accept and self.kind == "body" and (data := npy.encode(result)) is not None:
            await codec.send_body(send, status, npy.NPY_TYPE, data, extra)
        elif self.rt.internal and self.kind != "file" and _PICKLE in accept:
            await codec.send_body(send, status, _PICKLE, codec.pickle_body(result), extra)
        elif self.kind == "file":
            await codec.send_file(scope, receive, send, result, self.encoder.content_type and
                                  self.encoder.content_type.decode(), status, extra)
        else:
            content_type, body = self.encoder.body(result)
            await codec.send_body(send, status, content_type, body, extra)

    async def _stream(self, scope: Any, receive: Any, send: Any, kwargs: dict[str, Any], timeout: float,
                      accept: bytes, ctx: Context | None, slot: Slot) -> None:
        assert self.stream_encoder is not None
        if self.is_async:
            steps: Any = streaming.AsyncStep(self.func(**kwargs))
        else:
            func = self.func
            steps = streaming.ThreadedIterator(lambda: func(**kwargs), self.rt.pool, contextvars.copy_context())
        try:
            limit = asyncio.timeout(timeout)  # the first item must come within traffic.timeout
            try:
                async with limit:
                    first = await steps.next()
            except TimeoutError:
                if steps.pending is not None and not steps.pending.done():
                    slot.release_after(steps.pending)
                if limit.expired():
                    raise DeadlineExceeded() from None
                raise
            except BaseException:
                if steps.pending is not None and not steps.pending.done():
                    slot.release_after(steps.pending)
                raise
            sse = _SSE in accept
            encode = self.stream_encoder.sse if sse else self.stream_encoder.raw
            content_type = b"text/event-stream; charset=utf-8" if sse else self.stream_encoder.raw_type
            status = 200
            extra: codec.Headers = []
            if sse and self.rt.internal and _PICKLE in accept:  # a calling service: items keep their types
                encode = self.stream_encoder.sse_pickled
                extra.append((b"x-bento-items", b"pickle"))
            if ctx is not None:
                status = ctx.response.status_code
                extra += codec.context_headers(ctx.response)
            await streaming.send_stream(receive, send, first, steps, encode, content_type, status, extra,
                                        self.api.name)
        finally:
            if steps.pending is not None and not steps.pending.done():
                slot.release_after(steps.pending)
            steps.close()


class DeadlineExceeded(Exception):
    """``traffic.timeout`` (or the caller's ``X-Bento-Timeout``) ran out."""


def _temp_dir_of(ctx: Context) -> Any:
    return lambda: ctx.temp_dir


def _no_uploads() -> str:
    raise codec.UnsupportedMediaType("this API takes no files; send application/json")


async def _try_error(send: Any, status: int, error: str, message: str, detail: Any = None) -> None:
    try:
        await codec.send_error(send, status, error, message, detail)
    except Exception:  # the response had already started, or the client is gone
        logger.debug("could not send the %s error response", status, exc_info=True)
