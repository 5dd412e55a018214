"""Validators for use inside ``typing.Annotated``: ``Annotated[np.ndarray, Shape((3,)), DType("float32")]``,
``Annotated[Path, ContentType("image/*")]``.

Each carries its own pydantic hook, so a failing value becomes a 400 that names the field.
"""

from __future__ import annotations

import fnmatch
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema


@dataclass(frozen=True)
class ContentType:
    """The media type of a file input or output; wildcards such as ``image/*`` are allowed."""

    content_type: str

    def matches(self, media_type: str | None) -> bool:
        if media_type is None:
            return False
        return fnmatch.fnmatch(media_type.split(";")[0].strip().lower(), self.content_type.lower())

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        def check(value: Any) -> Any:
            if isinstance(value, Path):
                guessed = getattr(value, "content_type", None) or mimetypes.guess_type(value.name)[0]
                if guessed is None:
                    raise ValueError(f"expected content type {self.content_type}; "
                                     f"cannot tell the type of {value.name!r}")
                if not self.matches(guessed):
                    raise ValueError(f"expected content type {self.content_type}, got {guessed}")
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        result = handler(schema)
        result["contentMediaType"] = self.content_type
        return result


@dataclass(frozen=True)
class Shape:
    """The shape of an array; ``-1`` matches any length along that axis."""

    dimensions: tuple[int, ...]

    def __init__(self, dimensions: tuple[int, ...] | list[int] | int) -> None:
        dims = (dimensions,) if isinstance(dimensions, int) else tuple(dimensions)
        object.__setattr__(self, "dimensions", dims)

    def check(self, shape: tuple[int, ...]) -> None:
        ok = len(shape) == len(self.dimensions) and all(
            want in (-1, got) for want, got in zip(self.dimensions, shape)
        )
        if not ok:
            raise ValueError(f"expected shape {self.dimensions}, got {tuple(shape)}")

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        def check(value: Any) -> Any:
            self.check(tuple(value.shape))
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        # Nested arrays, one level per dimension, with fixed lengths where the shape fixes them.
        result = dict(handler(schema))
        node: dict[str, Any] = _innermost(result)
        for length in reversed(self.dimensions):
            node = {"type": "array", "items": node,
                    **({"minItems": length, "maxItems": length} if length >= 0 else {})}
        return {**result, **node}


def _innermost(schema: dict[str, Any]) -> dict[str, Any]:
    """The element schema of a (nested) array schema."""
    while isinstance(schema.get("items"), dict) and schema.get("type") == "array":
        schema = schema["items"]
    return dict(schema) if schema.get("type") != "array" else {}


@dataclass(frozen=True)
class DType:
    """The element type of an array; JSON input is converted to it, array input must be castable."""

    dtype: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        def convert(value: Any) -> Any:
            import numpy as np

            want = np.dtype(self.dtype)
            if value.dtype == want:
                return value
            if not np.can_cast(value.dtype, want, casting="same_kind"):
                raise ValueError(f"expected dtype {want}, got {value.dtype}")
            return value.astype(want)

        return core_schema.no_info_after_validator_function(convert, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        import numpy as np

        kind = {"f": "number", "i": "integer", "u": "integer", "b": "boolean", "U": "string", "S": "string"}
        element = kind.get(np.dtype(self.dtype).kind)
        result = dict(handler(schema))
        if element is not None:
            node = result
            while isinstance(node.get("items"), dict) and node["items"].get("type") == "array":
                node = node["items"]
            node["items"] = {**node.get("items", {}), "type": element}
            if np.dtype(self.dtype).kind == "u":
                node["items"]["minimum"] = 0
        result["x-dtype"] = str(np.dtype(self.dtype))
        return result
