"""The ``image`` kind: ``PIL.Image.Image`` parameters and results.

A parameter travels as a multipart file part, or as the whole request body (``Content-Type: image/png``)
when the API's single parameter is an image; the server opens it with Pillow before the API runs, so a
file that is no image (or a decompression bomb) is a 400 naming the field. A result is sent in the format
the return annotation's ``ContentType`` asks for, else the format the image was read in, else PNG.
Pillow is imported only when a service uses the type: the type is recognised by module and class name.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

from bento.core.kinds.base import BINARY, JSON_TYPE, IOKind, SchemaOf, ToJSON

DEFAULT_FORMAT = "PNG"
#: The response content type of an image API whose annotation names none (the image's own format decides).
ANY_IMAGE = "image/*"


def is_image_type(tp: Any) -> bool:
    """Whether ``tp`` is ``PIL.Image.Image`` or a subclass (``PngImageFile``...), without importing PIL."""
    return isinstance(tp, type) and any(
        c.__module__ == "PIL.Image" and c.__name__ == "Image" for c in tp.__mro__)


def is_image(value: Any) -> bool:
    return is_image_type(type(value))


def open_image(data: bytes) -> Any:
    """A fully loaded PIL image from encoded bytes; ``ValueError`` (a 400) when they are not one."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()  # decode now: a truncated file fails here, not inside the API
    except UnidentifiedImageError:
        raise ValueError("not an image in a format this server reads") from None
    except Image.DecompressionBombError as exc:
        raise ValueError(f"image too large: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:  # what Pillow's decoders raise on corrupt data
        raise ValueError(f"a damaged image: {exc}") from None
    return image


def mime_of(image: Any) -> str | None:
    """The media type of the format a PIL image was read in (None for an image made in memory)."""
    from PIL import Image

    Image.init()
    return Image.MIME.get(image.format or "")


def encode_image(image: Any, content_type: str | None) -> tuple[str, bytes]:
    """(media type, bytes) of ``image`` in the format ``content_type`` names (a wildcard: its own, or PNG)."""
    from PIL import Image

    Image.init()  # every format plug-in registered, so MIME and SAVE are complete
    fmt = None
    if content_type and "*" not in content_type:
        wanted = content_type.split(";")[0].strip().lower()
        fmt = next((f for f, mime in Image.MIME.items() if mime == wanted), None)
        if fmt is None:
            raise ValueError(f"Pillow cannot write {wanted} images")
    fmt = fmt or (image.format if image.format in Image.SAVE else None) or DEFAULT_FORMAT
    if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")  # JPEG has no alpha channel or palette
    out = io.BytesIO()
    image.save(out, format=fmt)
    return Image.MIME.get(fmt, f"image/{fmt.lower()}"), out.getvalue()


class ImageValue:
    """pydantic hooks for a ``PIL.Image.Image`` parameter: an uploaded file (``Path``), raw ``bytes`` or an
    image object (between services) in; PNG bytes out. A string is refused: it could name a server file."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        def to_image(value: Any) -> Any:
            if is_image(value):
                return value
            if isinstance(value, Path):
                return open_image(value.read_bytes())
            if isinstance(value, (bytes, bytearray, memoryview)):
                return open_image(bytes(value))
            raise ValueError(f"expected an image file, got {type(value).__name__}")

        return core_schema.no_info_plain_validator_function(
            to_image,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda image: encode_image(image, None)[1], when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return {**BINARY, "contentMediaType": "image/*"}


class ImageKind(IOKind):
    name = "image"
    default_content_type = None  # the image's own format, unless the annotation says
    upload = True
    body_media = ("image/*",)

    def matches(self, base: Any, is_generator: bool) -> bool:
        return is_image_type(base)

    def matches_param(self, base: Any) -> bool:
        return is_image_type(base)

    def param_hook(self, base: Any) -> Any:
        return ImageValue() if is_image_type(base) else None

    def read_body(self, media: str, body: bytes) -> Any:
        return body

    def encode(self, result: Any, content_type: bytes | None, to_json: ToJSON) -> tuple[bytes, bytes]:
        if not is_image(result):
            return JSON_TYPE.encode(), to_json(result)
        media, body = encode_image(result, content_type.decode() if content_type else None)
        return media.encode(), body

    def response_content(self, content_type: str | None, schema: SchemaOf) -> dict[str, Any]:
        return {content_type or ANY_IMAGE: {"schema": self.describe(schema)}}

    def decode(self, content_type: str, disposition: str, body: bytes) -> Any:
        """A PIL image where Pillow is installed on the client's side, else the encoded bytes."""
        if content_type.startswith(JSON_TYPE) or not content_type.startswith("image/"):
            return super().decode(content_type, disposition, body)
        try:
            import PIL.Image  # noqa: F401
        except ImportError:
            return body
        return open_image(body)
