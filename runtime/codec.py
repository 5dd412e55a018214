"""Requests to keyword arguments and results to responses, in plain ASGI.

Decoding: a JSON object of the named parameters (validated by the API's input model straight from the
bytes), ``multipart/form-data`` for APIs with ``Path``/``bytes``/image parameters (uploads are saved into
the request's temporary directory), a whole body an IO kind reads for an API's single parameter
(``image/*`` for an image, ``text/csv`` for a DataFrame), and, on the internal socket only,
``application/vnd.bento.pickle``.
Encoding: ``str`` → ``text/plain``, ``bytes`` → ``application/octet-stream``, ``Path`` → the file with its
content type, anything else JSON through the API's output adapter. Streams live in ``runtime/streaming``.
"""

from __future__ import annotations

import json
import mimetypes
import os
import pickle
from pathlib import Path, PosixPath
from typing import Any, Iterable

from pydantic import ValidationError

from bento.core import kinds
from bento.core.errors import BentoError, InvalidArgument
from bento.core.schema import Signature, strip_annotated

PICKLE_TYPE = "application/vnd.bento.pickle"
JSON_TYPE = b"application/json"
MAX_FORM_PARTS = 1_000  # fields and files of one form; more is a 400
Headers = list[tuple[bytes, bytes]]


class RequestInvalid(InvalidArgument):
    """A request whose body does not fit the API; carries one entry per offending field."""

    error_name = "ValidationError"

    def __init__(self, message: str, detail: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.detail = detail


class UnsupportedMediaType(BentoError):
    http_status = 415


class FileNotUploaded(RequestInvalid):
    """A file parameter given as anything but an upload: a JSON string or a form field naming a path would
    otherwise make the server read its own files."""

    def __init__(self, names: Iterable[str], how: str) -> None:
        fields = sorted(names)
        shown = ", ".join(f"`{n}`" for n in fields)
        super().__init__(
            f"{shown}: a file parameter takes an uploaded file (a multipart/form-data file part), not {how}",
            [{"field": n, "message": f"upload a file part; {how} is not accepted"} for n in fields],
        )


class UploadedPath(PosixPath):
    """A saved upload; remembers the media type the client declared (read by ``ContentType``)."""

    content_type: str | None = None


def error_body(error: str, message: str, detail: Any = None) -> bytes:
    payload: dict[str, Any] = {"error": error, "message": message}
    if detail is not None:
        payload["detail"] = detail
    return json.dumps(payload).encode()


async def send_error(send: Any, status: int, error: str, message: str, detail: Any = None,
                     headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = error_body(error, message, detail)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", JSON_TYPE), (b"content-length", str(len(body)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": body})


def from_validation_error(exc: ValidationError) -> RequestInvalid:
    detail: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = err["loc"]
        field = ".".join(str(p) for p in loc) if loc else None
        message = err["msg"]
        if err["type"] == "json_invalid":
            message = f"malformed JSON body: {err['ctx']['error']}" if "ctx" in err else "malformed JSON body"
        elif err["type"] == "model_type" and not loc:
            message = "the request body must be a JSON object of the API's named parameters"
        elif err["type"] == "extra_forbidden":
            message = "unknown field; not a parameter of this API"
        detail.append({"field": field, "message": message})
    first = detail[0] if detail else {"field": None, "message": "invalid request"}
    summary = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
    if len(detail) > 1:
        summary += f" (and {len(detail) - 1} more)"
    return RequestInvalid(summary, detail)


class Decoder:
    """Per-API request decoder, built once; ``decode`` runs per request."""

    def __init__(self, signature: Signature, internal: bool) -> None:
        self.model = signature.input_model
        self.params = signature.params
        self.multipart = signature.input_kind == "multipart"
        self.internal = internal
        self.file_params = {p.name for p in signature.params if p.is_file}
        self.bytes_params = {p.name for p in signature.params if _base(p.annotation) is bytes}
        self.list_params = {p.name for p in signature.params if _is_list(p.annotation)}
        self.text_params = {p.name for p in signature.params if _base(p.annotation) is str}
        self.root = signature.params[0].name if signature.root_input else None
        # An API whose one parameter is one file also takes that file as the raw body (any content type).
        only = signature.params[0].name if len(signature.params) == 1 else None
        self.body_file = only if only in self.file_params and only not in self.list_params else None
        # The one parameter without a default, by its type: an IO kind may read a whole body of its media
        # types as that parameter (an image/png body as an image, text/csv as a DataFrame); the others
        # keep their defaults.
        required = [p for p in signature.params if _required(p.default)]
        self.single = (required[0].name, _base(required[0].annotation)) if len(required) == 1 else None
        self.hooked = {p.name for p in signature.params if kinds.param_hook(_item_type(p.annotation)) is not None}

    def decode_json(self, body: bytes) -> dict[str, Any]:
        """Strict JSON types, as the OpenAPI document declares them: ``false`` is no number, ``0`` no bool."""
        if self.file_params:
            self._refuse_json_files(body)
        if self.root is not None and body.strip():  # the whole JSON document is the one parameter
            try:
                json.loads(body)
            except ValueError as exc:
                raise RequestInvalid(f"malformed JSON body: {exc}", []) from None
            body = b"{" + json.dumps(self.root).encode() + b":" + body + b"}"
        try:
            return dict(self.model.model_validate_json(body or b"{}", strict=True).__dict__)
        except ValidationError as exc:
            raise from_validation_error(exc) from None

    def decode_data(self, data: Any) -> dict[str, Any]:
        try:
            return dict(self.model.model_validate(data).__dict__)
        except ValidationError as exc:
            raise from_validation_error(exc) from None

    def _refuse_json_files(self, body: bytes) -> None:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return  # the model reports the malformed body
        if isinstance(data, dict) and self.file_params & data.keys():
            raise FileNotUploaded(self.file_params & data.keys(), "a JSON value")

    def _check_passed_files(self, data: Any) -> None:
        """Between services a file parameter holds a ``Path`` (or ``bytes``) object the caller's code made,
        never a string naming a file."""
        if not isinstance(data, dict):
            return
        named = set()
        for key in self.file_params & data.keys():
            values = data[key] if isinstance(data[key], (list, tuple)) else [data[key]]
            want: type[Any] = bytes if key in self.bytes_params else Path
            if key in self.hooked:  # an image object is passed as itself; only a name is refused
                want = object
            if any(v is not None and (isinstance(v, str) or not isinstance(v, want)) for v in values):
                named.add(key)
        if named:
            raise FileNotUploaded(named, "a string naming a file")

    async def decode(self, content_type: str, body: bytes, request: Any, temp_dir: Any) -> dict[str, Any]:
        """``request`` is a starlette Request whose body is ``body``; ``temp_dir()`` gives the upload dir."""
        media = content_type.split(";", 1)[0].strip().lower()
        if media == "application/json" or media.endswith("+json") or not (media or body):
            return self.decode_json(body)
        if self.single is not None and (kind := kinds.body_kind(self.single[1], media)) is not None:
            name = self.single[0]
            try:
                value = kind.read_body(media, body)
            except ValueError as exc:
                raise RequestInvalid(f"{name}: {exc}", [{"field": name, "message": str(exc)}]) from None
            return self.decode_data({name: value})
        if self.root is not None and media != PICKLE_TYPE:
            return await self._root_body(media, body, request, temp_dir)
        if media == PICKLE_TYPE:
            if not self.internal:
                raise UnsupportedMediaType(f"{PICKLE_TYPE} is only accepted between services")
            try:
                data = pickle.loads(body)
            except Exception as exc:
                raise RequestInvalid(f"unreadable pickle body: {exc}", []) from None
            self._check_passed_files(data)
            return self.decode_data(data)
        if media == "application/x-npy":  # not a CORS-simple type: a browser must ask (preflight) first
            from bento.runtime import npy

            return npy.decode(self, body)
        if self.body_file is not None and media not in ("multipart/form-data", "application/x-www-form-urlencoded"):
            return self.decode_data({self.body_file: self._body_as_file(self.body_file, media, body, temp_dir)})
        if not self.multipart:  # a form would let any web page call this API cross-origin
            raise UnsupportedMediaType(f"content type {media!r} is not accepted: this API takes JSON fields; "
                                       "send application/json")
        if media in ("multipart/form-data", "application/x-www-form-urlencoded"):
            return self.decode_data(await self._form(request, temp_dir))
        expected = "multipart/form-data" if self.multipart else "application/json"
        raise UnsupportedMediaType(f"content type {media!r} is not supported; send {expected}")

    async def _root_body(self, media: str, body: bytes, request: Any, temp_dir: Any) -> dict[str, Any]:
        """A root input from a non-JSON body: text, bytes, a file, or the single part of a form."""
        name = self.root
        assert name is not None
        if media in ("multipart/form-data", "application/x-www-form-urlencoded"):
            data = await self._form(request, temp_dir)
            if name not in data and len(data) == 1:
                data = {name: next(iter(data.values()))}
            return self.decode_data(data)
        if name in self.bytes_params:
            return self.decode_data({name: body})
        if name in self.file_params:
            return self.decode_data({name: self._body_as_file(name, media, body, temp_dir)})
        if name in self.text_params or media.startswith("text/"):
            try:
                return self.decode_data({name: body.decode("utf-8")})
            except UnicodeDecodeError:
                raise RequestInvalid("the request body is not UTF-8 text", []) from None
        return self.decode_json(body)

    def _body_as_file(self, name: str, media: str, body: bytes, temp_dir: Any) -> Any:
        """The raw request body saved as the upload of file parameter ``name`` (bytes stay bytes)."""
        if name in self.bytes_params:
            return body
        folder = os.path.join(temp_dir(), "0")
        os.makedirs(folder, exist_ok=True)
        path = UploadedPath(folder, "body" + (mimetypes.guess_extension(media) or ""))
        path.write_bytes(body)
        path.content_type = media or "application/octet-stream"
        return path

    async def _form(self, request: Any, temp_dir: Any) -> dict[str, Any]:
        from starlette.exceptions import HTTPException
        from starlette.formparsers import MultiPartException

        try:
            form = await request.form(max_files=MAX_FORM_PARTS, max_fields=MAX_FORM_PARTS)
        except (MultiPartException, HTTPException) as exc:
            reason = getattr(exc, "message", None) or getattr(exc, "detail", None) or str(exc)
            raise RequestInvalid(f"malformed form body: {reason}", []) from None
        try:
            data: dict[str, Any] = {}
            for index, (key, value) in enumerate(form.multi_items()):
                if isinstance(value, str):
                    if key in self.file_params:
                        raise FileNotUploaded([key], "a plain form field")
                    item: Any = self._field(key, value)
                elif key in self.bytes_params:
                    item = await value.read()
                else:
                    item = await _save(value, temp_dir(), index)
                if key in self.list_params:
                    data.setdefault(key, []).append(item)
                else:
                    data[key] = item
            for key in self.list_params & data.keys():  # one field holding a whole JSON array
                if len(data[key]) == 1 and isinstance(data[key][0], list):
                    data[key] = data[key][0]
            return data
        finally:
            await form.close()

    def _field(self, key: str, value: str) -> Any:
        if key in self.text_params:
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value


async def _save(upload: Any, directory: str, index: int) -> UploadedPath:
    name = os.path.basename((upload.filename or "").replace("\\", "/")).strip() or "upload"
    if name in (".", ".."):
        name = "upload"
    folder = os.path.join(directory, str(index))
    os.makedirs(folder, exist_ok=True)
    path = UploadedPath(folder, name)
    with open(path, "wb") as out:
        while chunk := await upload.read(1 << 20):
            out.write(chunk)
    declared = (upload.content_type or "").split(";")[0].strip()
    if not declared or declared == "application/octet-stream":
        declared = mimetypes.guess_type(name)[0] or declared or "application/octet-stream"
    path.content_type = declared
    return path


def _base(annotation: Any) -> Any:
    base, _ = strip_annotated(annotation)
    return base


def _required(default: Any) -> bool:
    from pydantic.fields import FieldInfo

    return default is ... or (isinstance(default, FieldInfo) and default.is_required())


def _item_type(annotation: Any) -> Any:
    """The type of a parameter, or of its items for a list parameter."""
    import typing

    base = _base(annotation)
    if typing.get_origin(base) in (list, tuple, set) and typing.get_args(base):
        return _base(typing.get_args(base)[0])
    return base


def _is_list(annotation: Any) -> bool:
    import typing

    return typing.get_origin(_base(annotation)) in (list, tuple, set)


def _fallback(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars under an ``Any`` annotation
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__} as JSON")


class Encoder:
    """Per-API result encoder for the non-stream kinds."""

    def __init__(self, signature: Signature) -> None:
        self.io = signature.io
        self.adapter = signature.output_adapter
        self.content_type = (signature.output_content_type or "").encode() or None

    def to_json(self, value: Any) -> bytes:
        return self.adapter.dump_json(value, fallback=_fallback)

    def body(self, result: Any) -> tuple[bytes, bytes]:
        """(content type, body) for the kinds sent as one body (not ``file`` or ``stream``)."""
        return self.io.encode(result, self.content_type, self.to_json)


async def send_body(send: Any, status: int, content_type: bytes, body: bytes, extra: Headers) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_file(scope: Any, receive: Any, send: Any, path: Any, content_type: str | None,
                    status: int, extra: Headers) -> None:
    from starlette.responses import FileResponse

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the API returned {path}, which is not a file")
    media = content_type if content_type and "*" not in content_type else None
    media = media or getattr(path, "content_type", None) or mimetypes.guess_type(path.name)[0]
    response = FileResponse(path, status_code=status, media_type=media or "application/octet-stream",
                            filename=path.name, content_disposition_type="inline")
    response.raw_headers.extend(extra)
    await response(scope, receive, send)


def pickle_body(result: Any) -> bytes:
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)


def context_headers(response: Any) -> Headers:
    """The headers and cookies an API set on ``ctx.response``."""
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items]
    if response.cookies:
        from starlette.responses import Response

        holder = Response()
        for c in response.cookies:
            holder.set_cookie(c.key, c.value, max_age=c.max_age, expires=c.expires, path=c.path,
                              domain=c.domain, secure=c.secure, httponly=c.httponly, samesite=c.samesite)
        headers.extend((k, v) for k, v in holder.raw_headers if k == b"set-cookie")
    return headers
