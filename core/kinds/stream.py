"""The ``stream`` kind: generators (sync or async) and APIs annotated as iterators. Items travel as raw
chunks, or as Server-Sent Events (one item per ``data:`` event) when the caller accepts
``text/event-stream``; the runtime's streaming glue frames them, clients parse them with
:mod:`bento.core.wire`. Streams are never batched.
"""

from __future__ import annotations

import collections.abc
import typing
from typing import TYPE_CHECKING, Any

from bento.core.kinds.base import IOKind, SchemaOf, ToJSON

if TYPE_CHECKING:
    from bento.core.schema import Signature

ITERATORS = (collections.abc.Generator, collections.abc.AsyncGenerator, collections.abc.Iterator,
             collections.abc.AsyncIterator)


class StreamKind(IOKind):
    name = "stream"
    transport = "stream"
    batchable = False
    typed = True  # the adapter validates and dumps each item
    default_content_type = None

    def matches(self, base: Any, is_generator: bool) -> bool:
        return is_generator or typing.get_origin(base) in ITERATORS

    def output_type(self, annotation: Any, base: Any) -> Any:
        args = typing.get_args(base)
        return args[0] if args else Any

    def response_content(self, content_type: str | None, schema: SchemaOf) -> dict[str, Any]:
        try:
            item = schema()
        except Exception:  # an item type pydantic cannot describe still streams
            item = {}
        return {
            "text/event-stream": {"schema": {"type": "string", "description": "Server-Sent Events, one item "
                                             "per `data:` event (send `Accept: text/event-stream`)"}},
            content_type or "text/plain": {"schema": {"type": "string", "description":
                                           "raw chunks as they are produced"}, "x-item": item},
        }

    def describe(self, schema: SchemaOf) -> dict[str, Any]:
        return schema()


class ItemFraming:
    """Per-API framing of a stream's items: raw chunks (``raw_type``) or SSE frames, one item per event.

    Strings go as they are, bytes as they are (SSE: UTF-8 decoded), anything else as JSON by ``to_json``
    (raw: one JSON document per line). The runtime's streaming glue sends what these return.
    """

    def __init__(self, signature: Signature, to_json: ToJSON) -> None:
        from bento.core.schema import strip_annotated

        self.to_json = to_json
        base, _ = strip_annotated(signature.output_annotation)
        args = typing.get_args(base)
        item = strip_annotated(args[0])[0] if args else Any
        if signature.output_content_type:
            self.raw_type = signature.output_content_type.encode()
        elif item is str:
            self.raw_type = b"text/plain; charset=utf-8"
        elif item is bytes:
            self.raw_type = b"application/octet-stream"
        else:
            self.raw_type = b"application/x-ndjson"

    def raw(self, item: Any) -> bytes:
        if isinstance(item, str):
            return item.encode()
        if isinstance(item, (bytes, bytearray, memoryview)):
            return bytes(item)
        return self.to_json(item) + b"\n"

    def sse(self, item: Any) -> bytes:
        if isinstance(item, (bytes, bytearray, memoryview)):
            text = bytes(item).decode("utf-8", "replace")
        elif isinstance(item, str):
            text = item
        else:
            text = self.to_json(item).decode()
        return "".join(f"data: {line}\n" for line in text.split("\n")).encode() + b"\n"
