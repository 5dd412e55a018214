"""The kinds of a single answer: ``json`` (any other type), ``text`` (``str``), ``bytes`` and ``file``
(``pathlib.Path``; the runtime sends the file from disk with its media type and name).

``text`` and ``bytes`` APIs that return something else at run time answer with JSON instead, as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bento.core.kinds.base import JSON_TYPE, IOKind, SchemaOf, ToJSON
from bento.core.kinds.rows import ArrayRows, FrameRows, ListRows, TupleRows


class JSONKind(IOKind):
    """Anything pydantic can validate and dump: the fallback kind, tried last."""

    name = "json"
    typed = True
    rows = (ArrayRows(), FrameRows(), ListRows(), TupleRows())
    default_content_type = JSON_TYPE

    def matches(self, base: Any, is_generator: bool) -> bool:
        return True

    def describe(self, schema: SchemaOf) -> dict[str, Any]:
        return schema()


class TextKind(IOKind):
    name = "text"
    default_content_type = "text/plain"

    def matches(self, base: Any, is_generator: bool) -> bool:
        return base is str

    def encode(self, result: Any, content_type: bytes | None, to_json: ToJSON) -> tuple[bytes, bytes]:
        if not isinstance(result, str):
            return JSON_TYPE.encode(), to_json(result)
        ctype = content_type or b"text/plain"
        if b"charset" not in ctype and ctype.startswith(b"text/"):
            ctype += b"; charset=utf-8"
        return ctype, result.encode()

    def describe(self, schema: SchemaOf) -> dict[str, Any]:
        return {"type": "string"}

    def decode(self, content_type: str, disposition: str, body: bytes) -> Any:
        if content_type.startswith(JSON_TYPE) or "filename" in disposition:
            return super().decode(content_type, disposition, body)
        return super().decode("text/plain; charset=utf-8" if not content_type.startswith("text/")
                              else content_type, disposition, body)


class BytesKind(IOKind):
    name = "bytes"
    upload = True

    def matches(self, base: Any, is_generator: bool) -> bool:
        return base is bytes

    def matches_param(self, base: Any) -> bool:
        return base is bytes

    def encode(self, result: Any, content_type: bytes | None, to_json: ToJSON) -> tuple[bytes, bytes]:
        if isinstance(result, (bytes, bytearray, memoryview)):
            return content_type or b"application/octet-stream", bytes(result)
        return JSON_TYPE.encode(), to_json(result)


class FileKind(IOKind):
    """A ``Path`` result: sent from disk by the runtime; clients save it under the server's file name."""

    name = "file"
    transport = "file"
    default_content_type = None
    upload = True

    def matches(self, base: Any, is_generator: bool) -> bool:
        return isinstance(base, type) and issubclass(base, Path)

    def matches_param(self, base: Any) -> bool:
        return self.matches(base, False)

    def response_content(self, content_type: str | None, schema: SchemaOf) -> dict[str, Any]:
        return {content_type or "application/octet-stream": {"schema": self.describe(schema)}}

    def decode(self, content_type: str, disposition: str, body: bytes) -> Any:
        if content_type.startswith(JSON_TYPE):
            return super().decode(content_type, disposition, body)
        return self.save(disposition, body)
