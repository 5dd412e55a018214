"""The bare-Starlette baseline `bench/serve_bench.py` runs: the endpoints of `serve_service.py` with no
validation layer at all (the floor any framework on Starlette + uvicorn can reach)."""

from __future__ import annotations

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

SIZE = 512
weights = np.random.default_rng(0).standard_normal((SIZE, SIZE), dtype=np.float32)


async def echo(request: Request) -> Response:
    return PlainTextResponse((await request.json())["text"])


async def matvec(request: Request) -> Response:
    x = np.asarray((await request.json())["x"], dtype=np.float32)
    return JSONResponse((weights @ x).tolist())


async def readyz(request: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/matvec", matvec, methods=["POST"]),
                        Route("/readyz", readyz)])
