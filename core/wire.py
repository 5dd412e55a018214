"""The consumer side of Bento's HTTP protocol, written once for every caller.

The public clients (``bento.SyncHTTPClient`` / ``AsyncHTTPClient`` / ``bento.depends(url=...)``) and the
service-to-service proxy of ``bento serve`` (``bento.runtime.remote``) speak the same protocol and use
only these pieces for it:

- :func:`bind`: positional and keyword arguments to the API's named parameters (the request body is a
  mapping of them);
- :func:`deadline_left`: the time left of the current request's deadline, refusing a call that could not
  finish in time;
- :func:`remote_error` / :func:`timed_out`: an error answer (our JSON error body, or anything else a proxy
  may send) as a :class:`~bento.core.errors.RemoteError`;
- :class:`EventReader`, :func:`events`, :func:`aevents`: Server-Sent Events parsing for streaming APIs;
- :func:`save_download`: a file answer written to a fresh folder under the name the server gave.

Nothing here does I/O on the network: callers bring their own HTTP client (httpx or the Unix-socket pool).
"""

from __future__ import annotations

import email.message
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence

from bento.core import deadline
from bento.core.errors import RemoteError, ServiceUnavailable

MAX_ERROR_TEXT = 500


def bind(where: str, names: Sequence[str], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``{parameter: value}`` for a call of ``where`` with ``args`` and ``kwargs`` (Python's own errors)."""
    if len(args) > len(names):
        raise TypeError(f"{where}() takes {len(names)} arguments but {len(args)} were given")
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key in bound:
            raise TypeError(f"{where}() got multiple values for argument `{key}`")
        bound[key] = value
    return bound


def deadline_left(where: str) -> float | None:
    """Seconds left of the current request's deadline (None outside a request); raises if none are."""
    left = deadline.remaining()
    if left is not None and left <= 0:
        raise ServiceUnavailable(f"not calling {where}: the request's deadline has already passed")
    return left


def error_message(status: int, body: bytes, reason: str = "") -> str:
    """The message of an error answer: ``message`` of our JSON error body, else the body's start."""
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):  # not JSON, not an object, or another shape
        return body.decode("utf-8", "replace")[:MAX_ERROR_TEXT] or reason or f"HTTP {status}"


def remote_error(status: int, body: bytes, reason: str = "") -> RemoteError:
    """The exception for an answer with an error ``status`` (``reason`` when the body says nothing)."""
    return RemoteError(error_message(status, body, reason), status)


def timed_out(where: str) -> RemoteError:
    return RemoteError(f"{where} did not answer in time", 504)


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event: its ``event`` type (``message`` unless named) and its ``data``."""

    data: str
    event: str = "message"


class EventReader:
    """Incremental SSE parser: :meth:`feed` one line (without its line break) at a time.

    ``data`` lines accumulate (joined by newlines) until a blank line dispatches the event; ``event``
    names it; comments (``:``) and other fields are ignored; an event without data is not dispatched.
    """

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""

    def feed(self, line: str) -> Event | None:
        if not line:
            data, name = self._data, self._event
            self._data, self._event = [], ""
            return Event("\n".join(data), name or "message") if data else None
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        return None


def events(lines: Iterable[str]) -> Iterator[Event]:
    """Every complete event in ``lines`` (an unterminated last event is dropped, as the spec says)."""
    reader = EventReader()
    for line in lines:
        event = reader.feed(line)
        if event is not None:
            yield event


async def aevents(lines: AsyncIterable[str]) -> AsyncIterator[Event]:
    """:func:`events` over an async line iterator."""
    reader = EventReader()
    async for line in lines:
        event = reader.feed(line)
        if event is not None:
            yield event


def filename(disposition: str) -> str | None:
    """The ``filename`` of a Content-Disposition header (RFC 2231 forms included), if any."""
    message = email.message.Message()
    message["content-disposition"] = disposition
    return message.get_filename()


def save_download(body: bytes, disposition: str, default: str, *, prefix: str, directory: str | None = None) -> Path:
    """Write ``body`` into a new folder (under ``directory``) named as the server named it, or ``default``.

    Only the last path component of the server's name is used, so it cannot point outside the folder.
    """
    name = os.path.basename(filename(disposition) or "") or default
    if name in (".", ".."):
        name = default
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=directory), name)
    path.write_bytes(body)
    return path
