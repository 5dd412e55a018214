"""What a worker's ASGI app shares with its siblings and its supervisor.

The app (``runtime/app.py``) only talks to a :class:`ServingState`. In a single process (tests with
starlette's TestClient, ``--development``) that is :class:`LocalState`; under the supervisor it is the
shared-memory implementation in this module, so readiness and the concurrency limit hold across workers.
"""

from __future__ import annotations

import fcntl
import os
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


class SharedRegion:
    """Readiness flags and in-flight counters of every worker of every service, in anonymous shared memory.

    The supervisor creates the region before it forks any worker, so every worker of the graph sees the
    same bytes. Per service and worker slot there is one ready byte and one ``int32`` in-flight counter;
    a worker only ever writes its own slot, and the supervisor zeroes a slot when its worker dies (so a
    dead worker leaks neither readiness nor concurrency slots). Admission (read the sum, then increment)
    is serialised across processes with ``flock`` on a per-service lock file, which the kernel releases
    when a holder dies.
    """

    def __init__(self, services: dict[str, int], lock_dir: str) -> None:
        """``services`` maps each service name to its number of worker slots."""
        import mmap

        self.lock_dir = lock_dir
        self._slots = dict(services)
        total = sum(services.values())
        self._map = mmap.mmap(-1, max(8 * total, 8))  # anonymous and MAP_SHARED: survives fork
        view = memoryview(self._map)
        self._counts = view[: 4 * total].cast("i")
        self._ready = view[4 * total : 5 * total]
        self._offsets: dict[str, int] = {}
        offset = 0
        for name, count in services.items():
            self._offsets[name] = offset
            offset += count
        for name in services:
            open(self.lock_path(name), "a").close()

    def lock_path(self, service: str) -> str:
        return os.path.join(self.lock_dir, f"{service}.lock")

    def slots(self, service: str) -> range:
        start = self._offsets[service]
        return range(start, start + self._slots[service])

    def ready(self, service: str) -> bool:
        return all(self._ready[i] for i in self.slots(service))

    def worker_ready(self, service: str, worker_id: int) -> bool:
        return bool(self._ready[self._offsets[service] + worker_id])

    def in_flight(self, service: str) -> int:
        return sum(self._counts[i] for i in self.slots(service))

    def reset(self, service: str, worker_id: int) -> None:
        """Forget what a dead worker held (called by the supervisor before it restarts the slot)."""
        index = self._offsets[service] + worker_id
        self._ready[index] = 0
        self._counts[index] = 0

    def state(self, service: str, worker_id: int, limit: int | None, needs: list[str]) -> SharedState:
        """The view one worker uses; call it in the worker process (it opens the lock file there)."""
        return SharedState(self, service, worker_id, limit, needs)


class SharedState:
    """The :class:`ServingState` of one worker under the supervisor, backed by a :class:`SharedRegion`.

    ``is_ready`` is true when every worker of this service and of every service in ``needs`` (the entry
    service's dependencies) has called ``mark_ready``.
    """

    def __init__(self, region: SharedRegion, service: str, worker_id: int, limit: int | None,
                 needs: list[str]) -> None:
        self.worker_id = worker_id
        self._region = region
        self._limit = limit
        self._index = region._offsets[service] + worker_id
        self._mine = list(region.slots(service))
        self._all = [i for name in [service, *needs] for i in region.slots(name)]
        self._counts = region._counts
        self._flags = region._ready
        self._thread_lock = threading.Lock()
        self._lock_fd = os.open(region.lock_path(service), os.O_RDWR | os.O_CLOEXEC) if limit else -1

    def mark_ready(self) -> None:
        self._flags[self._index] = 1

    def is_ready(self) -> bool:
        flags = self._flags
        return all(flags[i] for i in self._all)

    def try_acquire(self) -> bool:
        limit = self._limit
        if limit is None:
            return True
        counts = self._counts
        with self._thread_lock:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                if sum(counts[i] for i in self._mine) >= limit:
                    return False
                counts[self._index] += 1
                return True
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._lock_fd != -1:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def release(self) -> None:
        if self._limit is None:
            return
        # Only this process writes its own counter; other workers read it under the flock, and a stale
        # (higher) value there only errs towards refusing.
        with self._thread_lock:
            self._counts[self._index] -= 1
