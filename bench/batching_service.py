"""The service the batching benchmark serves (with Bento and, unchanged, with BentoML 1.4).

The model is simulated: one call costs 5 ms + 0.05 ms per row and the "device" runs one call at a time
(a lock), like a single accelerator. ``Batched`` lets the server merge requests; ``Unbatched`` is the same
API without batching.
"""

from __future__ import annotations

import threading
import time

import numpy as np

import bentoml

FIXED_S = 0.005
PER_ROW_S = 0.00005
device = threading.Lock()


def model(x: np.ndarray) -> np.ndarray:
    with device:
        time.sleep(FIXED_S + PER_ROW_S * len(x))
        return x.sum(axis=1, keepdims=True)


@bentoml.service(workers=1, logging={"access": {"enabled": False}})
class Batched:
    @bentoml.api(batchable=True, batch_dim=0, max_batch_size=128, max_latency_ms=1000)
    def predict(self, x: np.ndarray) -> np.ndarray:
        return model(x)


@bentoml.service(workers=1, logging={"access": {"enabled": False}})
class Unbatched:
    @bentoml.api
    def predict(self, x: np.ndarray) -> np.ndarray:
        return model(x)
