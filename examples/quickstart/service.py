"""The quickstart service: a tiny extractive summarizer and a numpy endpoint, no model download needed."""

from __future__ import annotations

import re
from typing import Annotated

import numpy as np

import bento
from bento.validators import DType


@bento.service(traffic={"timeout": 10}, resources={"cpu": "1"})
class Summarizer:
    """Summarize text by keeping its highest-scoring sentences."""

    def __init__(self) -> None:
        self.stopwords = {"the", "a", "an", "of", "and", "to", "in", "is", "it", "that", "for", "on", "with"}

    @bento.api
    def summarize(self, text: str, sentences: int = 1) -> str:
        parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", text) if p.strip()]
        words = [w for w in re.findall(r"[a-z']+", text.lower()) if w not in self.stopwords]
        freq = {w: words.count(w) for w in set(words)}

        def score(sentence: str) -> float:
            tokens = [w for w in re.findall(r"[a-z']+", sentence.lower()) if w not in self.stopwords]
            return sum(freq.get(t, 0) for t in tokens) / (len(tokens) or 1)

        best = sorted(sorted(parts, key=score, reverse=True)[:sentences], key=parts.index)
        return " ".join(best)

    @bento.api
    def normalize(self, vector: Annotated[np.ndarray, DType("float32")]) -> np.ndarray:
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector
