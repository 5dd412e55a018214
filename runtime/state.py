"""What a worker's ASGI app shares with its siblings and its supervisor.

The app (``runtime/app.py``) only talks to a :class:`ServingState`. In a single process (tests with
starlette's TestClient, ``--development``) that is :class:`LocalState`; under the supervisor it is the
shared-memory implementation in this module, so readiness and the concurrency limit hold across workers.
"""

from __future__ import annotations

import threading
from typing import Protocol


class ServingState(Protocol):
    worker_id: int

    def mark_ready(self) -> None:
        """This worker has finished ``__init__`` and its startup hooks."""

    def is_ready(self) -> bool:
        """Every worker of this service is ready."""

    def try_acquire(self) -> bool:
        """Take one in-flight slot of ``traffic.max_concurrency`` (shared by all workers); never blocks."""

    def release(self) -> None:
        """Give a slot back (exactly once per successful ``try_acquire``)."""


class LocalState:
    """A :class:`ServingState` for one process."""

    def __init__(self, max_concurrency: int | None = None, worker_id: int = 0) -> None:
        self.worker_id = worker_id
        self._ready = False
        self._limit = max_concurrency
        self._in_flight = 0
        self._lock = threading.Lock()

    def mark_ready(self) -> None:
        self._ready = True

    def is_ready(self) -> bool:
        return self._ready

    def try_acquire(self) -> bool:
        with self._lock:
            if self._limit is not None and self._in_flight >= self._limit:
                return False
            self._in_flight += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1
