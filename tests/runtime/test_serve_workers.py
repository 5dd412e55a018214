"""`bento serve` as a process tree: workers, restarts, graceful stop, shared limits and readiness."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from utils import serve


def write_service(directory: Path, body: str, name: str = "service.py") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(body))
    return path


def wait_until(check: Any, timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


PIDS = """
    import os
    import bento

    @bento.service(workers=2, envs=[{"name": "GREETING", "value": "hello"}])
    class Pids:
        @bento.api
        def pid(self) -> int:
            return os.getpid()

        @bento.api
        def greeting(self) -> str:
            return os.environ["GREETING"]
"""


def collect_pids(url: str, want: int, attempts: int = 200) -> set[int]:
    pids: set[int] = set()
    for _ in range(attempts):  # a fresh connection per call lets the kernel pick any worker
        pids.add(httpx.post(url + "/pid", json={}).json())
        if len(pids) >= want:
            break
    return pids


def test_two_workers_serve_and_a_killed_worker_is_restarted(tmp_path: Path) -> None:
    write_service(tmp_path, PIDS)
    with serve(["service.py:Pids"], cwd=tmp_path) as server:
        pids = collect_pids(server.url, 2)
        assert len(pids) == 2
        assert os.getpid() not in pids and server.proc.pid not in pids
        assert httpx.post(server.url + "/greeting", json={}).text == "hello"  # the service's envs

        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: "killed by signal SIGKILL" in server.output())
        assert re.search(rf"worker \d/2 of Pids \(pid {victim}\) was killed by signal SIGKILL; restarting",
                         server.output())
        wait_until(lambda: httpx.get(server.url + "/readyz").status_code == 200)
        new_pids = collect_pids(server.url, 2)
        assert victim not in new_pids and len(new_pids) == 2


def test_metrics_sum_over_workers(tmp_path: Path) -> None:
    write_service(tmp_path, PIDS)
    with serve(["service.py:Pids"], cwd=tmp_path) as server:
        calls = 0
        seen: set[int] = set()
        while len(seen) < 2 and calls < 200:
            seen.add(httpx.post(server.url + "/pid", json={}).json())
            calls += 1
        assert len(seen) == 2

        def counted() -> float:  # a worker counts a request just after answering it: allow a moment
            text = httpx.get(server.url + "/metrics").text
            found = re.findall(r'^bento_request_total\{[^}]*route="/pid"[^}]*status="200"[^}]*\} (\S+)$', text, re.M)
            return sum(float(c) for c in found)

        wait_until(lambda: counted() >= calls, timeout=5)
        assert counted() == calls


def test_sigterm_finishes_in_flight_request_runs_shutdown_hook_and_exits_0(tmp_path: Path) -> None:
    started = tmp_path / "started"
    hook_out = tmp_path / "shutdown-hook-ran"
    write_service(tmp_path, f"""
        import time
        from pathlib import Path
        import bento

        @bento.service
        class Slow:
            @bento.api
            def slow(self) -> str:
                Path({str(started)!r}).touch()
                time.sleep(3)
                return "finished"

            @bento.on_shutdown
            def bye(self) -> None:
                Path({str(hook_out)!r}).write_text("bye")
    """)
    with serve(["service.py:Slow"], cwd=tmp_path) as server:
        result: dict[str, httpx.Response] = {}
        thread = threading.Thread(
            target=lambda: result.setdefault("r", httpx.post(server.url + "/slow", json={}, timeout=30)))
        thread.start()
        wait_until(started.exists)
        server.proc.send_signal(signal.SIGTERM)

        def refused() -> bool:  # stopped accepting while the slow request is still running
            try:
                httpx.get(server.url + "/livez", timeout=0.5)
                return False
            except httpx.ConnectError:
                return True
            except httpx.TimeoutException:
                return False

        wait_until(refused, timeout=2.5)
        assert thread.is_alive()
        thread.join(30)
        assert result["r"].status_code == 200 and result["r"].text == "finished"
        assert server.proc.wait(30) == 0
        assert hook_out.read_text() == "bye"


def test_timeout_answers_504(tmp_path: Path) -> None:
    write_service(tmp_path, """
        import asyncio
        import bento

        @bento.service(traffic={"timeout": 0.5})
        class Sleepy:
            @bento.api
            async def nap(self, seconds: float) -> str:
                await asyncio.sleep(seconds)
                return "awake"
    """)
    with serve(["service.py:Sleepy"], cwd=tmp_path) as server:
        assert httpx.post(server.url + "/nap", json={"seconds": 0}).text == "awake"
        response = httpx.post(server.url + "/nap", json={"seconds": 10}, timeout=30)
        assert response.status_code == 504
        assert set(response.json()) >= {"error", "message"}


def test_max_concurrency_holds_across_two_workers(tmp_path: Path) -> None:
    write_service(tmp_path, """
        import asyncio
        import os
        import bento

        @bento.service(workers=2, traffic={"max_concurrency": 2})
        class Busy:
            @bento.api
            async def work(self) -> int:
                await asyncio.sleep(3)
                return os.getpid()
    """)
    with serve(["service.py:Busy"], cwd=tmp_path) as server:

        async def burst() -> list[httpx.Response]:
            clients = [httpx.AsyncClient(timeout=30) for _ in range(8)]  # separate connections
            try:
                return await asyncio.gather(*(c.post(server.url + "/work", json={}) for c in clients))
            finally:
                for c in clients:
                    await c.aclose()

        responses = asyncio.run(burst())
        ok = [r for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code == 503]
        assert 1 <= len(ok) <= 2, [r.status_code for r in responses]
        assert len(ok) + len(refused) == 8
        assert all(r.headers.get("retry-after") for r in refused)
        assert httpx.get(server.url + "/readyz").status_code == 200  # health is exempt from the limit
        # Once the burst is over the slots are free again.
        assert httpx.post(server.url + "/work", json={}, timeout=30).status_code == 200


def test_readyz_is_503_while_init_runs(tmp_path: Path) -> None:
    write_service(tmp_path, """
        import time
        import bento

        @bento.service
        class Loading:
            def __init__(self) -> None:
                time.sleep(3)

            @bento.api
            def ping(self) -> str:
                return "pong"
    """)
    with serve(["service.py:Loading"], cwd=tmp_path, wait_ready=False) as server:

        def live() -> bool:
            try:
                return httpx.get(server.url + "/livez").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(live)
        assert httpx.get(server.url + "/readyz").status_code == 503
        wait_until(lambda: httpx.get(server.url + "/readyz").status_code == 200)
        assert httpx.post(server.url + "/ping", json={}).text == "pong"


def test_on_deployment_runs_once_for_three_workers(tmp_path: Path) -> None:
    log = tmp_path / "deployments.log"
    write_service(tmp_path, f"""
        import os
        import bento

        @bento.service(workers=3)
        class Deployed:
            @bento.on_deployment
            def prepare():
                with open({str(log)!r}, "a") as fh:
                    fh.write(f"{{os.getpid()}}\\n")

            @bento.on_deployment
            @staticmethod
            def prepare_again():
                with open({str(log)!r}, "a") as fh:
                    fh.write("static\\n")

            @bento.api
            def pid(self) -> int:
                return os.getpid()
    """)
    with serve(["service.py:Deployed"], cwd=tmp_path) as server:
        lines = log.read_text().splitlines()
        assert sorted(lines) == sorted([str(server.proc.pid), "static"])
        assert len(collect_pids(server.url, 3)) == 3


def test_entry_is_not_ready_until_its_dependency_is(tmp_path: Path) -> None:
    write_service(tmp_path, """
        import time
        import bento

        @bento.service
        class Model:
            def __init__(self) -> None:
                time.sleep(3)

            @bento.api
            def predict(self, x: int) -> int:
                return 2 * x

        @bento.service
        class Api:
            model = bento.depends(Model)

            @bento.api
            def predict(self, x: int) -> int:
                return self.model.predict(x)
    """)
    with serve(["service.py:Api"], cwd=tmp_path, wait_ready=False) as server:

        def live() -> bool:
            try:
                return httpx.get(server.url + "/livez").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(live)
        assert httpx.get(server.url + "/readyz").status_code == 503
        wait_until(lambda: httpx.get(server.url + "/readyz").status_code == 200)
        assert httpx.post(server.url + "/predict", json={"x": 21}).json() == 42


def test_second_ctrl_c_stops_waiting_for_in_flight_requests(tmp_path: Path) -> None:
    started = tmp_path / "started"
    write_service(tmp_path, f"""
        import time
        from pathlib import Path
        import bento

        @bento.service
        class Stuck:
            @bento.api
            def stuck(self) -> str:
                Path({str(started)!r}).touch()
                time.sleep(60)
                return "finished"
    """)
    with serve(["service.py:Stuck", "--timeout-graceful-shutdown", "60"], cwd=tmp_path) as server:
        errors: list[Exception] = []

        def call() -> None:
            try:
                httpx.post(server.url + "/stuck", json={}, timeout=60)
            except httpx.HTTPError as exc:
                errors.append(exc)

        thread = threading.Thread(target=call)
        thread.start()
        wait_until(started.exists)
        server.proc.send_signal(signal.SIGINT)
        wait_until(lambda: "received SIGINT" in server.output())
        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(20) == 0  # long before the 60 s request or grace period would end
        thread.join(20)
        assert errors  # the stuck request was cut off
        assert "did not stop in time; killing it" in server.output()
