"""Run a real worker app (``bento.runtime.app.create_app``) with uvicorn in a thread of the test process,
on a Unix socket (as dependencies are served) or on a loopback TCP port (as the public service is)."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import uvicorn

from bento.runtime.app import create_app
from bento.runtime.state import LocalState
from utils import free_port  # tests/utils.py (tests/ is on sys.path via its conftest)


@contextlib.contextmanager
def running(service: Any, *, internal: bool, uds: str | None = None) -> Iterator[str]:
    """Serve ``service``; yields the socket path (``uds``) or ``http://127.0.0.1:<port>``, once ready."""
    app = create_app(service, LocalState(), internal=internal)
    port = None if uds else free_port()
    config = uvicorn.Config(app, uds=uds, port=port or 8000, host="127.0.0.1", lifespan="on",
                            log_level="warning", log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    transport = httpx.HTTPTransport(uds=uds) if uds else None
    base = "http://bento.internal" if uds else f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(transport=transport, base_url=base) as probe:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if probe.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or not thread.is_alive():
                    raise RuntimeError(f"{service.name} did not become ready")
                time.sleep(0.02)
        yield uds or base
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def sock(tmp_path: Path) -> str:
    return str(tmp_path / "dep.sock")
