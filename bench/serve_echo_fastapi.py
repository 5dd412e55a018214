"""Baseline for the cold-start and memory figures: the echo endpoint of `serve_echo.py` in FastAPI."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

app = FastAPI()


class EchoIn(BaseModel):
    text: str


@app.post("/echo", response_class=PlainTextResponse)
def echo(body: EchoIn) -> str:
    return body.text


@app.get("/readyz")
def readyz() -> str:
    return "ok"
