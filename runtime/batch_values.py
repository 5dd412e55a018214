"""What a batch is made of: which arguments are batched, merging requests, splitting results.

Which values have rows is the IO kinds' business (:mod:`bento.core.kinds.rows`: numpy arrays along a
dimension, lists end to end, pandas results by row); every other argument must be equal across the requests
of a batch. Used by :mod:`bento.runtime.batching`.
"""

from __future__ import annotations

from typing import Any

from bento.core.errors import BentoError, InvalidArgument
from bento.core.kinds import Rows, row_strategies


def _rows_of(value: Any, requests: bool) -> Rows | None:
    """The strategy for ``value``'s rows: as a request argument (``requests``) or as a result."""
    for rows in row_strategies():
        if (rows.in_requests or not requests) and rows.owns(value):
            return rows
    return None


def describe(kwargs: dict[str, Any], dim: int, shared: tuple[str, ...]) -> tuple[int, tuple[Any, ...]] | None:
    """Rows in this request and the key requests must share to be merged (None: nothing to batch on).

    Values with rows are batched; every other argument must be equal across a batch, and the batched ones
    must agree on their key (an array's dimensions except the batch one).
    """
    count: int | None = None
    key: list[Any] = []
    for name in sorted(kwargs):
        if name in shared:
            continue
        value = kwargs[name]
        rows = _rows_of(value, requests=True)
        if rows is None:
            key.append((name, "value", _Same(value)))
            continue
        n = rows.count(value, dim)
        if n is None:
            return None
        key.append((name, rows.key(value, dim)))
        if count is not None and n != count:
            raise InvalidArgument(
                f"the batched arguments of this request disagree on the number of rows ({count}, and {n} in "
                f"`{name}`); send the same number of rows in every array or list argument"
            )
        count = n
    return None if count is None else (count, tuple(key))


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


def split_request(kwargs: dict[str, Any], dim: int, size: int, rows: int) -> list[tuple[dict[str, Any], int]]:
    """Cut an oversize request into chunks of at most ``size`` rows."""
    strategies = {name: _rows_of(v, requests=True) for name, v in kwargs.items()}
    chunks = []
    for start in range(0, rows, size):
        stop = min(start + size, rows)
        chunk = {}
        for name, value in kwargs.items():
            strategy = strategies[name]
            chunk[name] = value if strategy is None else strategy.take(value, start, stop, dim)
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
        rows = _rows_of(value, requests=True)
        if rows is not None:
            merged[name] = rows.concat([r[name] for r in requests], dim)
    return merged


def _length(result: Any, rows: Rows | None, dim: int) -> int | None:
    return None if rows is None else rows.count(result, dim)


def split_result(result: Any, sizes: list[int], dim: int, api_name: str) -> list[Any]:
    """Give each request its rows of the batch result (one result row per input row)."""
    total = sum(sizes)
    rows = _rows_of(result, requests=False)
    length = _length(result, rows, dim)
    if len(sizes) == 1 and length == total:
        return [result]
    if length != total:
        raise BentoError(
            f"batchable API `{api_name}` returned {type(result).__name__} for a batch of {total} rows; "
            f"return an array (rows along batch_dim={dim}) or a list with one item per input row"
        )
    assert rows is not None
    parts, start = [], 0
    for n in sizes:
        parts.append(rows.take(result, start, start + n, dim))
        start += n
    return parts


def join_results(parts: list[Any], dim: int) -> Any:
    """Undo :func:`split_request` on the results of its chunks."""
    rows = _rows_of(parts[0], requests=False)
    if rows is None:  # not reached: every part came through split_result's checks
        raise BentoError(f"cannot join results of type {type(parts[0]).__name__}")
    return rows.concat(parts, dim)
