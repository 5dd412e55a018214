"""Streams over a real server on loopback: a client that disconnects stops the generator."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import httpx
import pytest

from utils import serve

SERVICE = textwrap.dedent('''
    from __future__ import annotations

    import asyncio
    import time
    from pathlib import Path
    from typing import AsyncGenerator, Iterator

    import bento

    HERE = Path(__file__).parent

    @bento.service
    class Ticker:
        @bento.api
        def sync_ticks(self) -> Iterator[str]:
            try:
                while True:
                    time.sleep(0.05)
                    yield "tick"
            finally:
                (HERE / "sync-closed").write_text("yes")

        @bento.api
        async def async_ticks(self) -> AsyncGenerator[str, None]:
            try:
                while True:
                    await asyncio.sleep(0.05)
                    yield "tock"
            finally:
                (HERE / "async-closed").write_text("yes")
''')


@pytest.mark.parametrize(("route", "marker"), [("/sync_ticks", "sync-closed"), ("/async_ticks", "async-closed")])
def test_disconnecting_client_closes_the_generator(tmp_path: Path, route: str, marker: str) -> None:
    (tmp_path / "ticker.py").write_text(SERVICE)
    with serve(["ticker:Ticker"], cwd=tmp_path) as server, httpx.Client(base_url=server.url) as client:
        with client.stream("POST", route, json={}, headers={"accept": "text/event-stream"}) as response:
            lines = response.iter_lines()
            assert next(lines).startswith("data: t")
        deadline = time.monotonic() + 10
        while not (tmp_path / marker).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / marker).exists(), server.output()
        assert client.get("/readyz").status_code == 200
