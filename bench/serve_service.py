"""The service `bench/serve_bench.py` serves with `bento serve` (one worker)."""

from __future__ import annotations

from typing import Annotated

import numpy as np

import bento
from bento.validators import DType, Shape

SIZE = 512


@bento.service(workers=1)  # access log at its default (on)
class Bench:
    def __init__(self) -> None:
        self.weights = np.random.default_rng(0).standard_normal((SIZE, SIZE), dtype=np.float32)

    @bento.api
    def echo(self, text: str) -> str:
        return text

    @bento.api
    def matvec(self, x: Annotated[np.ndarray, Shape((SIZE,)), DType("float32")]) -> np.ndarray:
        return self.weights @ x
