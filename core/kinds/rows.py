"""How values are cut into rows and put back together, for adaptive batching.

A batchable API gets many requests merged into one call and its result split back, one part per request.
Which values have rows is a question for the IO kinds: each kind lists the :class:`Rows` strategies of the
values it carries (``json``: numpy arrays, pandas objects, lists), and the runtime's batcher asks
:func:`bento.core.kinds.row_strategies` instead of testing types itself. A kind for a new framework type
(a DataFrame kind, a tensor kind) adds its own strategy to its ``rows``.
"""

from __future__ import annotations

from typing import Any, Hashable


class Rows:
    """One family of values with rows. ``dim`` is the API's batch dimension (used by n-d arrays)."""

    #: Whether request arguments of this family are merged (else only results are split and joined).
    in_requests = True

    def owns(self, value: Any) -> bool:
        raise NotImplementedError

    def count(self, value: Any, dim: int) -> int | None:
        """Rows in ``value`` (None: it has no batch dimension, so the request cannot be merged)."""
        return len(value)

    def key(self, value: Any, dim: int) -> Hashable:
        """What must be equal for two requests' values to merge (shapes off the batch dimension, say)."""
        return type(self).__name__

    def take(self, value: Any, start: int, stop: int, dim: int) -> Any:
        return value[start:stop]

    def concat(self, parts: list[Any], dim: int) -> Any:
        return [item for part in parts for item in part]


def _is_array(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


class ArrayRows(Rows):
    """``numpy.ndarray``, batched along ``dim``; the other dimensions must agree."""

    def owns(self, value: Any) -> bool:
        return _is_array(value)

    def count(self, value: Any, dim: int) -> int | None:
        return int(value.shape[dim]) if value.ndim > dim else None

    def key(self, value: Any, dim: int) -> Hashable:
        return ("array", value.ndim, value.shape[:dim] + value.shape[dim + 1:])

    def take(self, value: Any, start: int, stop: int, dim: int) -> Any:
        index = [slice(None)] * value.ndim
        index[dim] = slice(start, stop)
        return value[tuple(index)]

    def concat(self, parts: list[Any], dim: int) -> Any:
        import numpy as np

        return np.concatenate(parts, axis=dim)


class FrameRows(Rows):
    """pandas ``DataFrame`` / ``Series`` results (anything with ``iloc``), by row."""

    in_requests = False

    def owns(self, value: Any) -> bool:
        return hasattr(value, "iloc")

    def take(self, value: Any, start: int, stop: int, dim: int) -> Any:
        return value.iloc[start:stop]

    def concat(self, parts: list[Any], dim: int) -> Any:
        import pandas as pd

        return pd.concat(parts)


class ListRows(Rows):
    """Lists, end to end."""

    def owns(self, value: Any) -> bool:
        return isinstance(value, list)

    def key(self, value: Any, dim: int) -> Hashable:
        return "list"


class TupleRows(Rows):
    """Tuple results (a tuple argument is one value, not rows)."""

    in_requests = False

    def owns(self, value: Any) -> bool:
        return isinstance(value, tuple)

    def concat(self, parts: list[Any], dim: int) -> Any:
        return tuple(item for part in parts for item in part)
