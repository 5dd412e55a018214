"""What a batch is made of: which arguments are batched, merging requests, splitting results.

Arrays (``numpy.ndarray``) are batched along a dimension, lists end to end; every other argument must be
equal across the requests of a batch. Used by :mod:`bento.runtime.batching`.
"""

from __future__ import annotations

from typing import Any

from bento.core.errors import BentoError, InvalidArgument


def _is_array(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def describe(kwargs: dict[str, Any], dim: int, shared: tuple[str, ...]) -> tuple[int, tuple[Any, ...]] | None:
    """Rows in this request and the key requests must share to be merged (None: nothing to batch on).

    Arrays and lists are batched; every other argument must be equal across a batch, and arrays must
    agree on every dimension except the batch one.
    """
    rows: int | None = None
    key: list[Any] = []
    for name in sorted(kwargs):
        if name in shared:
            continue
        value = kwargs[name]
        if _is_array(value):
            if value.ndim <= dim:
                return None
            n = int(value.shape[dim])
            key.append((name, "array", value.ndim, value.shape[:dim] + value.shape[dim + 1:]))
        elif isinstance(value, list):
            n = len(value)
            key.append((name, "list"))
        else:
            key.append((name, "value", _Same(value)))
            continue
        if rows is not None and n != rows:
            raise InvalidArgument(
                f"the batched arguments of this request disagree on the number of rows ({rows}, and {n} in "
                f"`{name}`); send the same number of rows in every array or list argument"
            )
        rows = n
    return None if rows is None else (rows, tuple(key))


class _Same:
    """Compares a non-batched argument by equality (values may be unhashable, comparisons may fail)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Same):
            return NotImplemented
        if self.value is other.value:
            return True
        try:
            return bool(self.value == other.value)
        except Exception:
            return False

    __hash__ = None  # type: ignore[assignment]


def _take_rows(value: Any, start: int, stop: int, dim: int) -> Any:
    if _is_array(value):
        index = [slice(None)] * value.ndim
        index[dim] = slice(start, stop)
        return value[tuple(index)]
    return value[start:stop]


def split_request(kwargs: dict[str, Any], dim: int, size: int, rows: int) -> list[tuple[dict[str, Any], int]]:
    """Cut an oversize request into chunks of at most ``size`` rows."""
    chunks = []
    for start in range(0, rows, size):
        stop = min(start + size, rows)
        chunk = {
            name: _take_rows(v, start, stop, dim) if _is_array(v) or isinstance(v, list) else v
            for name, v in kwargs.items()
        }
        chunks.append((chunk, stop - start))
    return chunks


def merge_requests(requests: list[dict[str, Any]], dim: int, shared: tuple[str, ...]) -> dict[str, Any]:
    """One kwargs dict for the whole batch; shared (context) and non-batched arguments from the first."""
    if len(requests) == 1:
        return requests[0]
    merged = dict(requests[0])
    for name, value in requests[0].items():
        if name in shared:
            continue
        if _is_array(value):
            import numpy as np

            merged[name] = np.concatenate([r[name] for r in requests], axis=dim)
        elif isinstance(value, list):
            merged[name] = [item for r in requests for item in r[name]]
    return merged


def _length(result: Any, dim: int) -> int | None:
    if _is_array(result):
        return int(result.shape[dim]) if result.ndim > dim else None
    if isinstance(result, (list, tuple)) or hasattr(result, "iloc"):
        return len(result)
    return None


def split_result(result: Any, sizes: list[int], dim: int, api_name: str) -> list[Any]:
    """Give each request its rows of the batch result (one result row per input row)."""
    total = sum(sizes)
    if len(sizes) == 1 and _length(result, dim) == total:
        return [result]
    if _length(result, dim) != total:
        raise BentoError(
            f"batchable API `{api_name}` returned {type(result).__name__} for a batch of {total} rows; "
            f"return an array (rows along batch_dim={dim}) or a list with one item per input row"
        )
    parts, start = [], 0
    for n in sizes:
        if _is_array(result):
            parts.append(_take_rows(result, start, start + n, dim))
        elif hasattr(result, "iloc"):  # pandas DataFrame / Series
            parts.append(result.iloc[start:start + n])
        else:
            parts.append(result[start:start + n])
        start += n
    return parts


def join_results(parts: list[Any], dim: int) -> Any:
    """Undo :func:`split_request` on the results of its chunks."""
    first = parts[0]
    if _is_array(first):
        import numpy as np

        return np.concatenate(parts, axis=dim)
    if hasattr(first, "iloc"):
        import pandas as pd

        return pd.concat(parts)
    joined = [item for part in parts for item in part]
    return tuple(joined) if isinstance(first, tuple) else joined
