"""`bento serve` under production faults: a supervisor killed with SIGKILL, slow clients, a wedged sync API,
a leaking API and worker recycling. Every test runs the real CLI on a free loopback port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from utils import serve


def write_service(directory: Path, body: str) -> None:
    (directory / "service.py").write_text(textwrap.dedent(body))


def wait_until(check: Any, timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
    return result


HELLO = """
    import os
    import bento

    @bento.service
    class Hello:
        @bento.api
        def pid(self) -> int:
            return os.getpid()
"""


def pids(url: str, calls: int = 40) -> set[int]:
    """The worker pids answering ``/pid`` (a fresh connection per call lets the kernel pick any worker)."""
    return {httpx.post(url + "/pid", json={}, timeout=5).json() for _ in range(calls)}


# ---- 7. runtime directories of killed supervisors -------------------------------------------------
def test_the_next_start_removes_runtime_dirs_of_supervisors_killed_with_sigkill(tmp_path: Path) -> None:
    write_service(tmp_path, HELLO)
    temp = tmp_path / "t"
    temp.mkdir()
    env = {"TMPDIR": str(temp)}
    # A directory of a live process (this test) and one without an owner file are never touched.
    alive = temp / "bento-serve-alive"
    alive.mkdir()
    (alive / "owner").write_text(str(os.getpid()))
    foreign = temp / "bento-serve-unowned"
    foreign.mkdir()

    with serve(["service.py:Hello"], cwd=tmp_path, env=env) as first:
        dirs = {p.name for p in temp.glob("bento-serve-*")} - {alive.name, foreign.name}
        assert len(dirs) == 1
        killed = temp / dirs.pop()
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
    assert killed.is_dir()  # SIGKILL left it behind

    with serve(["service.py:Hello"], cwd=tmp_path, env=env) as second:
        assert not killed.exists()
        assert alive.is_dir() and foreign.is_dir()
        assert "removed 1 runtime directory of stopped servers" in second.output()
        mine = {p.name for p in temp.glob("bento-serve-*")} - {alive.name, foreign.name}
        assert len(mine) == 1
    assert not (temp / mine.pop()).exists()  # a clean stop removes its own


# ---- 5. slow clients -----------------------------------------------------------------------------
SLOW_CLIENTS = """
    import bento

    @bento.service(http={"header_read_timeout": 1.5, "body_read_timeout": 1.5})
    class Patient:
        @bento.api
        def echo(self, text: str) -> str:
            return text
"""


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096) == b"" or True  # EOF, or an error response followed by EOF
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_connections_that_never_finish_headers_or_body_are_closed(tmp_path: Path) -> None:
    write_service(tmp_path, SLOW_CLIENTS)
    with serve(["service.py:Patient"], cwd=tmp_path) as server:
        port = int(server.url.rsplit(":", 1)[1])
        silent: list[socket.socket] = []
        try:
            for index in range(200):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                if index % 2:  # half send part of their headers, half nothing at all
                    sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                silent.append(sock)
            stalled_body = socket.create_connection(("127.0.0.1", port), timeout=5)
            stalled_body.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 100\r\n\r\n{\"text\": ")
            silent.append(stalled_body)
            began = time.monotonic()
            # The server keeps answering while they hang.
            assert httpx.get(server.url + "/readyz", timeout=2).status_code == 200
            assert httpx.post(server.url + "/echo", json={"text": "hi"}, timeout=2).text == "hi"
            for sock in silent:
                sock.settimeout(max(0.1, began + 10 - time.monotonic()))
                assert _closed_by_server(sock), "a slow connection was still open after 10 s"
            assert httpx.get(server.url + "/readyz", timeout=2).status_code == 200
        finally:
            for sock in silent:
                sock.close()
        assert "Traceback" not in server.output()


# ---- 3. a wedged sync API -----------------------------------------------------------------------
WEDGING = """
    import asyncio
    import os
    import time
    from pathlib import Path
    import bento

    @bento.service(workers=2, threads=1, traffic={"timeout": 2})
    class Wedging:
        @bento.api
        def hang(self) -> str:
            Path(os.environ["WEDGE_FILE"]).write_text(str(os.getpid()))
            time.sleep(3600)
            return "never"

        @bento.api
        def pid(self) -> int:
            return os.getpid()

        @bento.api
        async def linger(self) -> int:
            await asyncio.sleep(1.8)
            return os.getpid()
"""


def test_a_worker_whose_threads_are_all_stuck_is_replaced(tmp_path: Path) -> None:
    write_service(tmp_path, WEDGING)
    marker = tmp_path / "wedged-pid"
    with serve(["service.py:Wedging"], cwd=tmp_path, env={"WEDGE_FILE": str(marker)}) as server:
        before = pids(server.url)
        assert len(before) == 2
        r = httpx.post(server.url + "/hang", json={}, timeout=10)
        assert r.status_code == 504
        wedged = int(marker.read_text())
        # Requests in flight on both workers (own connections) while the watchdog finds the stuck thread
        # (traffic.timeout 2 s + grace 1 s after the hang began).
        results: list[httpx.Response] = []
        lingering = [threading.Thread(target=lambda: results.append(
            httpx.post(server.url + "/linger", json={}, timeout=30))) for _ in range(6)]
        for thread in lingering:
            thread.start()
        wait_until(lambda: "stopped itself because every API thread was stuck" in server.output(), timeout=15)
        log = server.output()
        assert re.search(r"worker wedged: all 1 API thread is stuck in `hang`", log), log
        for thread in lingering:
            thread.join(30)
        assert [r.status_code for r in results] == [200] * 6  # nobody's in-flight request was dropped
        wait_until(lambda: httpx.get(server.url + "/readyz").status_code == 200)
        after = wait_until(lambda: (lambda p: p if len(p) == 2 else None)(pids(server.url)))
        assert wedged not in after and before - {wedged} <= after


def test_a_wedged_worker_fails_livez_and_readyz_and_refuses_apis() -> None:
    import bento
    from appclient import serving

    release = threading.Event()

    @bento.service(threads=2, traffic={"timeout": 0.2})
    class Stuck:
        @bento.api
        def hang(self) -> str:
            release.wait(30)
            return "late"

        @bento.api
        async def ping(self) -> str:
            return "pong"

    try:
        with serving(Stuck) as client:
            assert client.post("/hang", json={}).status_code == 504
            assert client.get("/livez").status_code == 200  # one of two threads stuck: still healthy
            assert client.post("/hang", json={}).status_code == 504
            wait_until(lambda: client.get("/livez").status_code == 503, timeout=10)
            live = client.get("/livez").json()
            assert live["error"] == "Wedged" and "`hang`" in live["message"]
            assert client.get("/readyz").status_code == 503
            r = client.post("/ping", json={})
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
    finally:
        release.set()


# ---- 4. worker recycling ------------------------------------------------------------------------
RECYCLING = """
    import os
    import time
    from pathlib import Path
    import bento

    LEAK = []

    @bento.service(traffic={"max_requests": 5, "max_memory": "300Mi"})
    class Recycled:
        @bento.api
        def pid(self) -> int:
            return os.getpid()

        @bento.api
        def slow(self) -> int:
            Path(os.environ["SLOW_FILE"]).write_text("started")
            time.sleep(2)
            return os.getpid()

        @bento.api
        def leak(self, mib: int) -> int:
            LEAK.append(b"x" * (mib << 20))  # written, so resident
            return os.getpid()
"""


def test_a_worker_is_recycled_gracefully_after_max_requests(tmp_path: Path) -> None:
    write_service(tmp_path, RECYCLING)
    started = tmp_path / "slow-started"
    with serve(["service.py:Recycled"], cwd=tmp_path, env={"SLOW_FILE": str(started)}) as server:
        url = server.url
        first = {httpx.post(url + "/pid", json={}).json() for _ in range(4)}
        assert len(first) == 1 and httpx.get(url + "/livez").status_code == 200  # probes do not count
        result: list[httpx.Response] = []
        fifth = threading.Thread(target=lambda: result.append(httpx.post(url + "/slow", json={}, timeout=30)))
        fifth.start()  # the 5th request: the worker retires, but only after answering it
        wait_until(started.exists)
        fifth.join(30)
        assert result[0].status_code == 200 and result[0].json() in first
        wait_until(lambda: "retired (traffic.max_requests / max_memory)" in server.output())
        assert "recycling this worker: it served 5 API requests (traffic.max_requests)" in server.output()
        wait_until(lambda: httpx.get(url + "/readyz").status_code == 200)
        assert httpx.post(url + "/pid", json={}).json() not in first
        assert "restarting it in" not in server.output()  # a retirement is no crash: no back-off


def test_a_worker_over_max_memory_is_recycled(tmp_path: Path) -> None:
    write_service(tmp_path, RECYCLING)
    with serve(["service.py:Recycled"], cwd=tmp_path) as server:
        url = server.url
        leaking = httpx.post(url + "/leak", json={"mib": 1}).json()
        for _ in range(3):  # 3 x 128 MiB: past 300 MiB, before the 5-request limit
            assert httpx.post(url + "/leak", json={"mib": 128}, timeout=30).json() == leaking
        wait_until(lambda: "retired (traffic.max_requests / max_memory)" in server.output())
        assert re.search(r"recycling this worker: it uses \d+ MiB of memory, over the 300 MiB of "
                         r"traffic.max_memory", server.output())
        wait_until(lambda: httpx.get(url + "/readyz").status_code == 200)
        assert httpx.post(url + "/pid", json={}).json() != leaking


def test_jitter_spreads_the_request_limit_of_workers() -> None:
    import random

    from bento.core.config import ServiceConfig
    from bento.runtime.recycle import request_limit

    config = ServiceConfig(traffic={"max_requests": 100, "max_requests_jitter": 10})
    rng = random.Random(7)
    limits = {request_limit(config, rng) for _ in range(200)}
    assert min(limits) >= 100 and max(limits) <= 110 and len(limits) > 5  # type: ignore[type-var]
    assert request_limit(ServiceConfig()) is None


def test_task_apis_may_outlive_the_timeout_without_wedging() -> None:
    from bento.runtime.watchdog import Watchdog, WatchedPool

    release = threading.Event()

    def train() -> None:  # a @bento.task API: allowed to run for hours
        release.wait(30)

    def predict() -> None:
        release.wait(30)

    pool = WatchedPool(1)
    try:
        dog = Watchdog(pool, timeout=0.05, on_wedged=lambda _: None, exempt=frozenset({"train"}))
        pool.submit(train)
        time.sleep(1.2)  # past timeout + grace (1 s)
        assert dog.check() is None
        release.set()
        pool.shutdown(wait=True)
        release.clear()
        pool = WatchedPool(1)
        dog = Watchdog(pool, timeout=0.05, on_wedged=lambda _: None, exempt=frozenset({"train"}))
        pool.submit(predict)
        wait_until(lambda: dog.check(), timeout=5)
        assert "`predict`" in (dog.check() or "")
    finally:
        release.set()
        pool.shutdown(wait=True)
