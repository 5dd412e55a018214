"""In-process client for the worker app: starlette's TestClient with the lifespan running, ready."""

from __future__ import annotations

import contextlib
import time
import warnings
from typing import Any, Iterator

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx is what we ship and test with
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bento.runtime.app import create_app
from bento.runtime.state import LocalState

__all__ = ["TestClient", "serving", "wait_ready"]


def wait_ready(client: TestClient, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/readyz").status_code != 200:
        if time.monotonic() > deadline:
            raise AssertionError(f"not ready: {client.get('/readyz').text}")
        time.sleep(0.01)


@contextlib.contextmanager
def serving(service: Any, state: Any = None, *, internal: bool = False, ready: bool = True,
            raise_server_exceptions: bool = True) -> Iterator[TestClient]:
    app = create_app(service, state or LocalState(), internal=internal)
    with TestClient(app, raise_server_exceptions=raise_server_exceptions) as client:
        if ready:
            wait_ready(client)
        yield client
