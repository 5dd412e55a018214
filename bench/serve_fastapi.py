"""The baseline `bench/serve_bench.py` runs: the same endpoints as `serve_service.py`, in plain FastAPI."""

from __future__ import annotations

import numpy as np
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

SIZE = 512
app = FastAPI()
weights = np.random.default_rng(0).standard_normal((SIZE, SIZE), dtype=np.float32)


class EchoIn(BaseModel):
    text: str


class MatvecIn(BaseModel):
    x: list[float] = Field(min_length=SIZE, max_length=SIZE)


@app.post("/echo", response_class=PlainTextResponse)
def echo(body: EchoIn) -> str:
    return body.text


@app.post("/matvec")
def matvec(body: MatvecIn) -> list[float]:
    out: list[float] = (weights @ np.asarray(body.x, dtype=np.float32)).tolist()
    return out


@app.get("/readyz")
def readyz() -> str:
    return "ok"
