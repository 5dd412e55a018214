# Served by Bento (`bentoml serve service:Compat`) and called by BentoML's own clients (client.py).
from __future__ import annotations

from pathlib import Path
from typing import AsyncGenerator, Generator

import numpy as np

import bentoml


@bentoml.service
class Compat:
    @bentoml.api
    def summarize(self, text: str, max_words: int = 3) -> str:
        """The first words of a text."""
        return " ".join(text.split()[:max_words])

    @bentoml.api
    def shout(self, body: str, /) -> str:
        return body.upper()

    @bentoml.api
    def total(self, values: list[float], /) -> float:
        return float(sum(values))

    @bentoml.api
    def describe(self, values: list[float], label: str = "x") -> dict:
        return {"label": label, "n": len(values), "max": max(values)}

    @bentoml.api
    def double(self, x: np.ndarray) -> np.ndarray:
        return x * 2

    @bentoml.api
    def size(self, document: Path) -> int:
        return len(document.read_bytes())

    @bentoml.api
    def raw(self, text: str) -> bytes:
        return text.encode()[::-1]

    @bentoml.api
    def count(self, n: int) -> Generator[str, None, None]:
        for i in range(n):
            yield f"{i};"

    @bentoml.api
    async def acount(self, n: int) -> AsyncGenerator[str, None]:
        for i in range(n):
            yield f"a{i};"
