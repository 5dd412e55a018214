"""What one ``bento.depends`` hop costs: ``Entry`` times calls to a trivial API of ``Leaf`` through the
dependency (its own worker process, Unix socket, pickled arguments) against the same method called
directly on an instance inside the entry process."""

from __future__ import annotations

import statistics
import time

import numpy as np

import bentoml


@bentoml.service(workers=1, logging={"access": {"enabled": False}})
class Leaf:
    @bentoml.api
    def ping(self, x: np.ndarray) -> np.ndarray:
        return x


@bentoml.service(workers=1, logging={"access": {"enabled": False}})
class Entry:
    leaf = bentoml.depends(Leaf)

    def __init__(self) -> None:
        self.local = Leaf()

    @bentoml.api
    def measure(self, calls: int = 500) -> dict[str, float]:
        """Median microseconds per call: through the dependency (sync) and directly in-process."""
        x = np.arange(16, dtype=np.float32)
        remote, direct = [], []
        for _ in range(calls):
            began = time.perf_counter()
            self.leaf.ping(x)
            remote.append(time.perf_counter() - began)
            began = time.perf_counter()
            self.local.ping(x)
            direct.append(time.perf_counter() - began)
        return {"depends_us": statistics.median(remote) * 1e6, "direct_us": statistics.median(direct) * 1e6}

    @bentoml.api
    async def measure_async(self, calls: int = 500) -> dict[str, float]:
        """The same through ``await self.leaf.to_async.ping(x)`` from an async API."""
        x = np.arange(16, dtype=np.float32)
        remote, direct = [], []
        for _ in range(calls):
            began = time.perf_counter()
            await self.leaf.to_async.ping(x)
            remote.append(time.perf_counter() - began)
            began = time.perf_counter()
            self.local.ping(x)
            direct.append(time.perf_counter() - began)
        return {"depends_us": statistics.median(remote) * 1e6, "direct_us": statistics.median(direct) * 1e6}
