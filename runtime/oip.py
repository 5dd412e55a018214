"""The KServe / Triton Open Inference Protocol (v2, HTTP/REST) for every API, so their standard clients
(``tritonclient.http``, KServe's) can call a Bento service.

Routes (each API is a "model" named like the API, version ``1``):

* ``GET /v2``, ``/v2/health/live``, ``/v2/health/ready``: server metadata and health (200 or 503);
* ``GET /v2/models/<api>`` (and ``/versions/1``), ``/v2/models/<api>/ready``: model metadata and readiness;
* ``POST /v2/models/<api>/infer`` (and ``/versions/1/infer``): inference. Input tensors map to the API's
  parameters by name (``np.ndarray`` parameters get arrays, others the plain values) and go through the
  same validation, concurrency limit, timeout and adaptive batching as the API's own route. Tensors come
  as JSON ``data`` or, with the binary-data extension, as raw little-endian bytes after a JSON header
  whose length is the ``Inference-Header-Content-Length`` header. The result (an array, a tensor, a
  dict of them, a list/tuple of them, or a number) goes back as ``output_0``... (or the names the request
  asked for), binary when the request asked for binary outputs.

Errors keep the protocol's shape: ``{"error": "<message>"}`` with the API's usual status.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from bento.core.schema import strip_annotated
from bento.core.validators import DType, Shape
from bento.runtime.codec import JSON_TYPE, RequestInvalid
from bento.runtime.npy import is_ndarray

if TYPE_CHECKING:
    from bento.runtime.app import BentoApp
    from bento.runtime.codec import Decoder
    from bento.core.services import APIMethod

ASGIApp = Callable[[Any, Any, Any], Any]
HEADER_LENGTH = b"inference-header-content-length"
DATATYPES = {"BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64",
             "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64", "FP16": "float16",
             "FP32": "float32", "FP64": "float64"}
_NAMES = {dtype: name for name, dtype in DATATYPES.items()}
_SCALARS = {int: "INT64", float: "FP64", bool: "BOOL", str: "BYTES"}


class InferRequest:
    """One ``/infer`` call: reads the tensors in, and writes the result the way the request asked."""

    def __init__(self, model: str, header_length: int | None) -> None:
        self.model = model
        self.header_length = header_length
        self.id: str | None = None
        self.binary_all = False
        self.requested: list[tuple[str, bool | None]] = []

    def decode(self, decoder: Decoder, body: bytes) -> dict[str, Any]:
        import numpy as np

        if self.header_length is not None:
            if not 0 < self.header_length <= len(body):
                raise RequestInvalid(f"Inference-Header-Content-Length {self.header_length} does not fit a "
                                     f"body of {len(body)} bytes", [])
            head, binary = body[: self.header_length], memoryview(body)[self.header_length:]
        else:
            head, binary = body, memoryview(b"")
        try:
            request = json.loads(head)
        except (ValueError, RecursionError) as exc:
            raise RequestInvalid(f"malformed JSON inference header: {exc}", []) from None
        if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
            raise RequestInvalid("an inference request is a JSON object with an `inputs` list", [])
        self.id = request.get("id") if isinstance(request.get("id"), str) else None
        params = request.get("parameters") or {}
        self.binary_all = isinstance(params, dict) and params.get("binary_data_output") is True
        outputs = request.get("outputs")
        for output in outputs if isinstance(outputs, list) else []:
            if isinstance(output, dict) and isinstance(output.get("name"), str):
                options = output.get("parameters")
                flag = options.get("binary_data") if isinstance(options, dict) else None
                self.requested.append((output["name"], flag if isinstance(flag, bool) else None))
        kinds = {p.name: p.annotation for p in decoder.params}
        values: dict[str, Any] = {}
        offset = 0
        for index, tensor in enumerate(request["inputs"]):
            array, offset = _tensor(tensor, index, binary, offset, np)
            name = tensor["name"]
            values[name] = array if name not in kinds or is_ndarray(kinds[name]) else _plain(array, kinds[name])
        if offset != len(binary):
            raise RequestInvalid(f"{len(binary) - offset} bytes of binary data were not claimed by any input", [])
        return decoder.decode_data(values)

    def encode(self, result: Any) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
        outputs = _outputs(result, [name for name, _ in self.requested])
        flags = dict(self.requested)
        head: list[dict[str, Any]] = []
        blobs: list[bytes] = []
        for name, array in outputs:
            datatype = _NAMES.get(array.dtype.name)
            if datatype is None:
                raise TypeError(f"output {name} has dtype {array.dtype}, which the inference protocol cannot carry")
            entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
            binary = flags.get(name)
            if binary if binary is not None else self.binary_all:
                raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
                entry["parameters"] = {"binary_data_size": len(raw)}
                blobs.append(raw)
            else:
                entry["data"] = array.ravel().tolist()
            head.append(entry)
        answer: dict[str, Any] = {"model_name": self.model, "model_version": "1", "outputs": head}
        if self.id is not None:
            answer["id"] = self.id
        text = json.dumps(answer, separators=(",", ":")).encode()
        if not blobs:
            return JSON_TYPE, text, []
        return b"application/octet-stream", text + b"".join(blobs), [(HEADER_LENGTH, str(len(text)).encode())]


def _tensor(tensor: Any, index: int, binary: memoryview, offset: int, np: Any) -> tuple[Any, int]:
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise RequestInvalid(f"inputs[{index}] needs a `name`", [])
    name = tensor["name"]
    shape, datatype = tensor.get("shape"), tensor.get("datatype")
    if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                              for n in shape):
        raise RequestInvalid(f"input {name}: `shape` must be a list of non-negative integers", [])
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise RequestInvalid(f"input {name}: datatype {datatype!r} is not supported; use one of "
                             f"{', '.join(DATATYPES)}", [])
    dtype = np.dtype(DATATYPES[datatype]).newbyteorder("<")
    count = 1
    for n in shape:
        count *= n
    size = ((tensor.get("parameters") or {}) if isinstance(tensor.get("parameters"), dict) else {}).get(
        "binary_data_size")
    if size is not None:
        if not isinstance(size, int) or size != count * dtype.itemsize or offset + size > len(binary):
            raise RequestInvalid(f"input {name}: binary_data_size {size!r} does not match shape {shape} of "
                                 f"{datatype} or the binary data sent", [])
        array = np.frombuffer(binary[offset: offset + size], dtype=dtype).reshape(shape)
        return array.astype(dtype.newbyteorder("="), copy=True), offset + size
    if "data" not in tensor:
        raise RequestInvalid(f"input {name} has neither `data` nor a binary_data_size", [])
    try:
        array = np.asarray(tensor["data"], dtype=dtype.newbyteorder("="))
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise RequestInvalid(f"input {name}: data is not {datatype}: {exc}", []) from None
    if array.size != count:
        raise RequestInvalid(f"input {name}: {array.size} values do not fill shape {shape}", [])
    return array.reshape(shape), offset


def _plain(array: Any, annotation: Any) -> Any:
    base, _ = strip_annotated(annotation)
    value = array.tolist()
    if base in _SCALARS and array.size == 1:
        return array.reshape(()).item()
    return value


def _outputs(result: Any, names: list[str]) -> list[tuple[str, Any]]:
    import numpy as np

    def as_array(value: Any) -> Any:
        if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
            value = value.detach().cpu().numpy()
        return np.asarray(value)

    if isinstance(result, dict):
        items = [(str(k), as_array(v)) for k, v in result.items()]
    elif isinstance(result, (list, tuple)) and result and all(
            hasattr(v, "shape") and hasattr(v, "dtype") for v in result):
        items = [(f"output_{i}", as_array(v)) for i, v in enumerate(result)]
    else:
        items = [("output_0", as_array(result))]
    if names and not isinstance(result, dict):  # positional outputs take the names the client asked for
        items = [(names[i] if i < len(names) else name, value) for i, (name, value) in enumerate(items)]
    if names:
        wanted = set(names)
        items = [item for item in items if item[0] in wanted] or items
    return items


def _tensor_metadata(name: str, annotation: Any) -> dict[str, Any]:
    base, meta = strip_annotated(annotation)
    shape: list[int] = [-1]
    datatype = _SCALARS.get(base, "FP32")
    for item in meta:
        if isinstance(item, Shape):
            shape = list(item.dimensions)
        elif isinstance(item, DType):
            import numpy as np

            datatype = _NAMES.get(np.dtype(item.dtype).name, datatype)
    if base in _SCALARS:
        shape = [1]
    return {"name": name, "datatype": datatype, "shape": shape}


def _metadata(api: APIMethod) -> bytes:
    sig = api.signature
    inputs = [_tensor_metadata(p.name, p.annotation) for p in sig.params]
    outputs = [_tensor_metadata("output_0", sig.output_annotation)]
    return json.dumps({"name": api.name, "versions": ["1"], "platform": "bento", "inputs": inputs,
                       "outputs": outputs}).encode()


def _oip_errors(send: Any) -> Any:
    """Rewrite our JSON error bodies (``{"error": name, "message": ...}``) to the protocol's
    ``{"error": message}``."""
    state: dict[str, Any] = {}

    async def wrapped(message: Any) -> None:
        if message["type"] == "http.response.start" and message["status"] >= 400:
            state["start"] = message
            return
        if "start" in state and message["type"] == "http.response.body":
            start = state.pop("start")
            try:
                error = json.loads(message.get("body", b""))
                text = json.dumps({"error": f"{error['error']}: {error['message']}"}).encode()
            except (ValueError, KeyError, TypeError):
                text = message.get("body", b"")
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(text)).encode())]})
            await send({"type": "http.response.body", "body": text})
            return
        await send(message)

    return wrapped


def routes(app: BentoApp, handlers: dict[str, ASGIApp]) -> dict[str, ASGIApp]:
    """The protocol's routes for ``app``; ``handlers`` maps each API's route to its (measured) handler."""
    from bento.core.version import __version__
    from bento.runtime import codec

    server = json.dumps({"name": app.service.name, "version": __version__,
                         "extensions": ["binary_tensor_data"]}).encode()

    async def server_metadata(scope: Any, receive: Any, send: Any) -> None:
        await codec.send_body(send, 200, JSON_TYPE, server, [])

    table: dict[str, ASGIApp] = {"/v2": server_metadata, "/v2/health/live": app.livez,
                                 "/v2/health/ready": app.readyz}
    for api in app.service.apis.values():
        handler = handlers.get(api.route)
        sig = api.signature
        if handler is None or getattr(api, "is_task", False) or sig.io.transport != "body" \
                or sig.input_kind == "multipart":  # tasks, streams and files have no tensor form
            continue
        metadata = _metadata(api)

        async def model_metadata(scope: Any, receive: Any, send: Any, body: bytes = metadata) -> None:
            await codec.send_body(send, 200, JSON_TYPE, body, [])

        async def infer(scope: Any, receive: Any, send: Any, handler: ASGIApp = handler,
                        model: str = api.name) -> None:
            length = None
            for key, value in scope["headers"]:
                if key == HEADER_LENGTH:
                    length = int(value) if value.isdigit() else -1
            await handler({**scope, "bento.io": InferRequest(model, length)}, receive, _oip_errors(send))

        base = f"/v2/models/{api.name}"
        for prefix in (base, base + "/versions/1"):
            table[prefix] = model_metadata
            table[prefix + "/ready"] = app.readyz
            table[prefix + "/infer"] = infer
    return table
