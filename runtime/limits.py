"""Request limits: the body size cap (``http.max_body_size``) and the in-flight slot of
``traffic.max_concurrency``.

A :class:`Slot` is taken per API request and given back exactly once. When a sync API runs in a worker
thread the slot is handed to that thread's future: a 504 answers the client, but the slot stays taken
until the thread has really finished, so a timed-out request cannot hide an overload.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, Callable

from bento.core.errors import BentoError


class BodyTooLarge(BentoError):
    http_status = 413


class Slot:
    """One taken concurrency slot; :meth:`release` is idempotent until :meth:`release_after` hands it on."""

    __slots__ = ("_release", "_done", "_handed_off", "holder")

    def __init__(self, release: Callable[[], None]) -> None:
        self._release = release
        self._done = False
        self._handed_off = False
        self.holder: concurrent.futures.Future[Any] | None = None

    def release(self) -> None:
        """Give the slot back now, unless it was handed to a running thread."""
        if not self._handed_off and not self._done:
            self._done = True
            self._release()

    def release_after(self, future: concurrent.futures.Future[Any]) -> None:
        """Keep the slot until ``future`` completes (or is cancelled before it started)."""
        if self._done:
            return
        self._handed_off = True
        self.holder = future

        def done(_: concurrent.futures.Future[Any]) -> None:
            if not self._done:
                self._done = True
                self._release()

        future.add_done_callback(done)

    def then(self, cleanup: Callable[[], None]) -> None:
        """Run ``cleanup`` now, or when the thread holding the slot finishes (it may still use the request's
        files)."""
        if self.holder is not None and not self.holder.done():
            self.holder.add_done_callback(lambda _: cleanup())
        else:
            cleanup()


async def read_body(receive: Callable[[], Any], content_length: int | None, limit: int) -> bytes:
    """The whole request body, or :class:`BodyTooLarge` as soon as it (declared or streamed) exceeds ``limit``."""
    if content_length is not None and content_length > limit:
        raise BodyTooLarge(f"request body of {content_length} bytes exceeds http.max_body_size ({limit} bytes)")
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise BodyTooLarge(f"request body exceeds http.max_body_size ({limit} bytes)")
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body exceeds http.max_body_size ({limit} bytes)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class ClientGone(Exception):
    """The client disconnected before its request was read; there is nobody to answer."""
