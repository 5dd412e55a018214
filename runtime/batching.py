"""Adaptive batching of ``@bento.api(batchable=True)`` methods.

Placeholder owned by the composition helper, who replaces this passthrough with the real batcher. The
app (``runtime/app.py``) calls :func:`wrap_batchable` once per batchable API at start-up and then awaits
the returned callable once per request.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

Call = Callable[[dict[str, Any]], Awaitable[Any]]


def wrap_batchable(api: Any, call: Call) -> Call:
    """Return the per-request callable for a batchable API; ``call(kwargs)`` invokes it for one request."""
    return call
