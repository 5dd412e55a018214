"""Arrays as binary bodies: ``application/x-npy`` (NumPy's ``.npy`` format) on an API's own route.

A request whose ``Content-Type`` is ``application/x-npy`` carries one array for the API's one
``np.ndarray`` parameter (the other parameters must have defaults); it goes through the same validation
(``Shape``, ``DType``) and batching as the JSON form. A request whose ``Accept`` names
``application/x-npy`` gets an array result back as ``.npy`` bytes. Parsing a 1024-float JSON body costs
hundreds of microseconds; this costs about one.

Only plain numeric/boolean dtypes are read (never pickled objects); a malformed body is a 400.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from bento.core.schema import strip_annotated
from bento.runtime.codec import RequestInvalid, UnsupportedMediaType

if TYPE_CHECKING:
    from bento.runtime.codec import Decoder

NPY_TYPE = b"application/x-npy"
_MAGIC = b"\x93NUMPY"
_MAX_HEADER = 4096
_KINDS = frozenset("biufc")  # bool, signed, unsigned, float, complex


def is_ndarray(annotation: Any) -> bool:
    base, _ = strip_annotated(annotation)
    return getattr(base, "__module__", "") == "numpy" and getattr(base, "__name__", "") == "ndarray"


def array_param(decoder: Decoder) -> str:
    """The name of the API's one array parameter, or an error saying why a .npy body does not fit."""
    params = decoder.params
    arrays = [p.name for p in params if is_ndarray(p.annotation)]
    if len(arrays) != 1:
        raise UnsupportedMediaType(f"this API takes {len(arrays)} array parameters; an {NPY_TYPE.decode()} "
                                   "body fits an API with exactly one; send JSON")
    required = [p.name for p in params if p.name != arrays[0] and p.default is ...]
    if required:
        raise UnsupportedMediaType(f"this API also needs {', '.join(required)}; send JSON")
    return arrays[0]


def load(body: bytes) -> Any:
    """The array in a ``.npy`` body (a writable copy), or :class:`RequestInvalid`."""
    import numpy as np

    if not body.startswith(_MAGIC) or len(body) < 10:
        raise RequestInvalid("the body is not a .npy array (no NUMPY magic)", [])
    major = body[6]
    if major == 1:
        size, start = int.from_bytes(body[8:10], "little"), 10
    elif major in (2, 3) and len(body) >= 12:
        size, start = int.from_bytes(body[8:12], "little"), 12
    else:
        raise RequestInvalid(f"unsupported .npy format version {major}", [])
    if size > _MAX_HEADER:
        raise RequestInvalid(f"a .npy header of {size} bytes is too long", [])
    try:
        header = ast.literal_eval(body[start:start + size].decode("latin-1"))
        dtype = np.dtype(header["descr"])
        shape = tuple(int(n) for n in header["shape"])
        fortran = bool(header["fortran_order"])
    except Exception as exc:
        raise RequestInvalid(f"unreadable .npy header: {exc}", []) from None
    if dtype.kind not in _KINDS or dtype.hasobject or any(n < 0 for n in shape):
        raise RequestInvalid(f"a .npy body must hold numbers or booleans, not {dtype}", [])
    count = 1
    for n in shape:
        count *= n
    data = memoryview(body)[start + size:]
    if len(data) != count * dtype.itemsize:
        raise RequestInvalid(f".npy data is {len(data)} bytes; shape {shape} of {dtype} needs "
                             f"{count * dtype.itemsize}", [])
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def dump(array: Any) -> bytes:
    """``array`` as ``.npy`` bytes (format 1.0)."""
    import numpy as np

    array = np.asarray(array)
    if not array.flags.c_contiguous and not array.flags.f_contiguous:
        array = np.ascontiguousarray(array)
    fortran = array.flags.f_contiguous and not array.flags.c_contiguous
    header = (f"{{'descr': {np.lib.format.dtype_to_descr(array.dtype)!r}, 'fortran_order': {fortran}, "
              f"'shape': {tuple(array.shape)!r}, }}")
    pad = 64 - (10 + len(header) + 1) % 64
    text = (header + " " * (pad % 64) + "\n").encode("latin-1")
    return _MAGIC + b"\x01\x00" + len(text).to_bytes(2, "little") + text + array.tobytes(order="A")


def decode(decoder: Decoder, body: bytes) -> dict[str, Any]:
    """The keyword arguments of an ``application/x-npy`` request, validated like JSON."""
    return decoder.decode_data({array_param(decoder): load(body)})


def wants_npy(accept: bytes) -> bool:
    return NPY_TYPE in accept


def encode(result: Any) -> bytes | None:
    """The ``.npy`` body of an array result; None when the result is not an array (it goes out as JSON)."""
    if type(result).__module__ == "numpy" and type(result).__name__ == "ndarray":
        return dump(result)
    if hasattr(result, "__dlpack__") and hasattr(result, "cpu"):  # a torch tensor
        return dump(result.detach().cpu().numpy())
    return None
