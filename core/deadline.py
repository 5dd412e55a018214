"""The deadline of the API call being served, for code that calls other services on its behalf.

The app sets :data:`request_deadline` (an absolute ``time.monotonic()`` value) around every API call,
also inside the worker thread of a sync API, so a dependency client can pass the remaining time on.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

request_deadline: ContextVar[float | None] = ContextVar("bento_request_deadline", default=None)


def remaining() -> float | None:
    """Seconds left before the current request's deadline (may be negative), or None outside a request."""
    deadline = request_deadline.get()
    return None if deadline is None else deadline - time.monotonic()
