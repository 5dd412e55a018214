"""The per-request fast paths of a real `bento serve`: uvloop + httptools, sync APIs in the service's own
thread, access-log lines written in batches in the server's log format, metrics counted locally."""

from __future__ import annotations

import re
import textwrap
import time
from pathlib import Path

import httpx

from utils import serve

SERVICE = """
    import asyncio
    import sys
    import threading

    import bento


    @bento.service
    class Fast:
        def __init__(self) -> None:
            self.init_thread = threading.get_ident()

        @bento.api
        async def stack(self) -> dict:
            return {"loop": type(asyncio.get_running_loop()).__module__,
                    "parser": sorted(m.rsplit(".", 1)[-1] for m in sys.modules if m.startswith("uvicorn.protocols.http."))}

        @bento.api
        def same_thread(self, text: str) -> dict:
            return {"text": text, "same": threading.get_ident() == self.init_thread}
"""


def test_worker_serves_on_uvloop_and_httptools(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(textwrap.dedent(SERVICE))
    with serve(["service.py:Fast"], cwd=tmp_path) as server:
        stack = httpx.post(server.url + "/stack", json={}).json()
    assert stack["loop"].startswith("uvloop")
    assert "httptools_impl" in stack["parser"] and "h11_impl" not in stack["parser"]


def test_sync_api_runs_in_the_thread_that_ran_init_and_logs_each_request(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(textwrap.dedent(SERVICE))
    with serve(["service.py:Fast"], cwd=tmp_path) as server:
        with httpx.Client() as client:
            answers = [client.post(server.url + "/same_thread", json={"text": f"t{i}"}).json() for i in range(20)]
        assert answers == [{"text": f"t{i}", "same": True} for i in range(20)]
        time.sleep(0.3)
        log = server.output()
    lines = [line for line in log.splitlines() if "POST /same_thread" in line]
    assert len(lines) == 20, log
    # the same shape as every other line of the server's log: time, level, [pid], message
    pattern = (r"^\d\d:\d\d:\d\d\.\d{3} INFO    \[\d+\] 127\.0\.0\.1:\d+ POST /same_thread 200 "
               r"\d+\.\dms in=\d+B out=\d+B$")
    assert all(re.match(pattern, line) for line in lines), lines[:3]
    ready = next(line for line in log.splitlines() if "ready: http" in line)
    assert re.match(r"^\d\d:\d\d:\d\d\.\d{3} INFO    \[\d+\] ", ready)
