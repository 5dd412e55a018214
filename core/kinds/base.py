"""What one IO kind is: the strategy every layer asks instead of switching on the kind's name.

A kind describes one shape of API result (and, for upload kinds, of parameter): how it is recognised in a
signature, how the server encodes it, how OpenAPI and the bento manifest describe it, and how a client
decodes the answer. The runtime keeps only the transport glue (a body, a file, a stream of events), chosen
by :attr:`IOKind.transport`; the kind itself never imports the runtime, starlette or httpx.
"""

from __future__ import annotations

import json
from typing import Any, Callable, ClassVar, Literal

from bento.core import wire
from bento.core.kinds.rows import Rows

Transport = Literal["body", "file", "stream"]
JSON_TYPE = "application/json"
BINARY = {"type": "string", "format": "binary"}
#: A thunk giving the JSON schema of the API's output adapter (hoisted into OpenAPI's components).
SchemaOf = Callable[[], dict[str, Any]]
#: ``to_json(value)``: the API's output adapter dumping ``value`` as JSON bytes.
ToJSON = Callable[[Any], bytes]


class IOKind:
    """Base strategy; subclasses set :attr:`name` and override what differs. Instances are stateless."""

    #: The name the kind goes by: in ``Signature.output_kind``, ``x-bento-output-kind`` and the manifest.
    name: ClassVar[str] = ""
    #: How the runtime sends a result: one encoded ``body``, a ``file`` from disk, or a ``stream``.
    transport: ClassVar[Transport] = "body"
    #: Whether results are validated and dumped by a TypeAdapter of the declared type (else ``Any``).
    typed: ClassVar[bool] = False
    #: The response media type when the API does not declare one with ``ContentType``.
    default_content_type: ClassVar[str | None] = "application/octet-stream"
    #: Whether parameters of this kind travel as multipart uploads.
    upload: ClassVar[bool] = False
    #: Whether ``@bento.api(batchable=True)`` may merge calls of an API of this kind.
    batchable: ClassVar[bool] = True
    #: The values with rows this kind carries, for batching (see :mod:`bento.core.kinds.rows`).
    rows: ClassVar[tuple[Rows, ...]] = ()
    #: Media types (``fnmatch`` patterns) of a whole request body that an API whose single parameter is of
    #: this kind accepts as that parameter (``image/*`` for an image, ``text/csv`` for a table).
    body_media: ClassVar[tuple[str, ...]] = ()

    # ---- recognising the kind in a signature -----------------------------------------------------
    def matches(self, base: Any, is_generator: bool) -> bool:
        """Whether a return annotation (``Annotated`` stripped: ``base``) is of this kind."""
        return False

    def matches_param(self, base: Any) -> bool:
        """Whether a parameter annotation (stripped, and unwrapped from ``list[...]``) is of this kind."""
        return False

    def param_hook(self, base: Any) -> Any:
        """An ``Annotated`` marker with pydantic hooks that reads (and dumps) values of type ``base``, for
        framework types pydantic does not know; None when ``base`` is not of this kind."""
        return None

    def read_body(self, media: str, body: bytes) -> Any:
        """The parameter value of a whole request body of a :attr:`body_media` type (``param_hook`` then
        validates it)."""
        return body

    def output_type(self, annotation: Any, base: Any) -> Any:
        """The annotation the output adapter is built from (a stream's item type, say)."""
        return annotation

    # ---- server side -------------------------------------------------------------------------------
    def encode(self, result: Any, content_type: bytes | None, to_json: ToJSON) -> tuple[bytes, bytes]:
        """(content type, body) of a result, for ``transport == "body"`` kinds."""
        return content_type or JSON_TYPE.encode(), to_json(result)

    # ---- descriptions ------------------------------------------------------------------------------
    def response_content(self, content_type: str | None, schema: SchemaOf) -> dict[str, Any]:
        """The OpenAPI ``content`` map of the 200 response."""
        return {content_type or self.default_content_type or JSON_TYPE: {"schema": self.describe(schema)}}

    def describe(self, schema: SchemaOf) -> dict[str, Any]:
        """The JSON schema of a result, as the bento manifest records it."""
        return dict(BINARY)

    # ---- client side -------------------------------------------------------------------------------
    def decode(self, content_type: str, disposition: str, body: bytes) -> Any:
        """What a client returns for a successful answer. JSON answers (a text or binary API may return
        a JSON value) are parsed whatever the kind; a named attachment becomes a downloaded file."""
        if content_type.startswith(JSON_TYPE):
            return json.loads(body)
        if "filename" in disposition:
            return self.save(disposition, body)
        if content_type.startswith("text/"):
            try:
                return body.decode(_charset(content_type), "replace")
            except LookupError:  # a charset Python does not know
                return body.decode("utf-8", "replace")
        return body

    @staticmethod
    def save(disposition: str, body: bytes) -> Any:
        return wire.save_download(body, disposition, "download", prefix="bento-client-")

    def __repr__(self) -> str:
        return f"<IO kind {self.name}>"


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"
