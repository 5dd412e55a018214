"""The ``stream`` kind: generators (sync or async) and APIs annotated as iterators. Items travel as raw
chunks, or as Server-Sent Events (one item per ``data:`` event) when the caller accepts
``text/event-stream``; the runtime's streaming glue frames them, clients parse them with
:mod:`bento.core.wire`. Streams are never batched.
"""

from __future__ import annotations

import collections.abc
import typing
from typing import Any

from bento.core.kinds.base import IOKind, SchemaOf

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
