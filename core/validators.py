"""Validators for use inside ``typing.Annotated``: ``Annotated[np.ndarray, Shape((3,)), DType("float32")]``,
``Annotated[Path, ContentType("image/*")]``, and BentoML's ``TensorSchema`` / ``DataframeSchema``.

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

from bento.core.errors import InvalidConfig
from bento.core.kinds.frame import FrameValue
from bento.core.kinds.image import is_image, mime_of


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
            elif is_image(value):  # a PIL image read from the request: the format it was read in
                media = mime_of(value)
                if not self.matches(media):
                    raise ValueError(f"expected content type {self.content_type}, got {media or 'an image'}")
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

    def fits(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == len(self.dimensions) and all(
            want in (-1, got) for want, got in zip(self.dimensions, shape))

    def check(self, shape: tuple[int, ...]) -> None:
        if not self.fits(tuple(shape)):
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


@dataclass(frozen=True)
class DataframeSchema:
    """A ``pandas.DataFrame`` parameter or result in one JSON orientation (``records``: a list of row
    objects, BentoML's default; ``columns``: an object of column lists), with the columns it must have.
    Input is read in either orientation; a missing column is a 400 naming it, extra columns are dropped."""

    orient: str = "records"
    columns: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns) if self.columns else None)
        FrameValue(self.orient, self.columns)  # checks the orientation

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return FrameValue(self.orient, self.columns).__get_pydantic_core_schema__(source, handler)

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return FrameValue(self.orient, self.columns).__get_pydantic_json_schema__(schema, handler)


TENSOR_FORMATS = ("numpy-array", "torch-tensor", "tf-tensor")


@dataclass(frozen=True)
class TensorSchema:
    """BentoML's tensor validator: ``format`` (``numpy-array``, ``torch-tensor`` or ``tf-tensor``), an
    optional ``dtype`` and ``shape``. JSON nested lists become the tensor; a value of another element kind
    (floats for ``int32``, strings) or a shape that does not fit is a 400. As in BentoML, values with the
    right number of elements are reshaped to ``shape`` (``-1`` takes the rest)."""

    format: str
    dtype: str | None = None
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.format not in TENSOR_FORMATS:
            raise InvalidConfig(f"TensorSchema format {self.format!r} is not one of {', '.join(TENSOR_FORMATS)}")
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    def to_array(self, value: Any) -> Any:
        import numpy as np

        if hasattr(value, "detach"):  # a torch tensor between services
            value = value.detach().cpu().numpy()
        elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # a tf tensor
            value = value.numpy()
        if not isinstance(value, np.ndarray):
            if not isinstance(value, (list, tuple, int, float)) or isinstance(value, bool):
                raise ValueError(f"expected a tensor as nested lists of numbers, got {type(value).__name__}")
            try:
                value = np.asarray(value)
            except ValueError as exc:
                raise ValueError(f"not a rectangular tensor: {exc}") from None
        if value.dtype.kind not in "biufc":
            raise ValueError("expected a tensor of numbers (or booleans)")
        if self.dtype is not None:
            want = np.dtype(self.dtype)
            if value.dtype != want:
                if not np.can_cast(value.dtype, want, casting="same_kind"):
                    raise ValueError(f"expected dtype {want}, got {value.dtype}")
                value = value.astype(want)
        if self.shape is not None and not Shape(self.shape).fits(value.shape):
            try:
                value = value.reshape(self.shape)
            except ValueError:
                raise ValueError(f"expected shape {self.shape}, got {tuple(value.shape)}") from None
        return value

    def convert(self, value: Any) -> Any:
        array = self.to_array(value)
        if self.format == "torch-tensor":
            import torch

            return torch.from_numpy(array)
        if self.format == "tf-tensor":
            import tensorflow as tf

            return tf.constant(array)
        return array

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_plain_validator_function(
            self.convert,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: self.to_array(value).tolist(), when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        node: dict[str, Any] = {"type": "number"}
        if self.dtype is not None:
            import numpy as np

            node = {"type": {"b": "boolean", "i": "integer", "u": "integer"}.get(np.dtype(self.dtype).kind, "number")}
        for length in reversed(self.shape if self.shape is not None else (-1,)):
            node = {"type": "array", "items": node,
                    **({"minItems": length, "maxItems": length} if length >= 0 else {})}
        extra = {"x-dtype": self.dtype} if self.dtype else {}
        return {**node, **extra, "x-tensor-format": self.format}
