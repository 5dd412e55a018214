"""``@bento.task``: submit/status/get/cancel/retry over a real `bento serve`, durable in a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from utils import serve

SERVICE = r'''
import asyncio, os, time
from pathlib import Path
import bentoml

@bentoml.service(workers=2)
class Jobs:
    @bentoml.task
    def square(self, x: int, seconds: float = 0.0) -> dict:
        marks = Path(os.environ["MARKS"])
        with open(marks / f"start-{x}", "a") as f:  # one line per run of this task
            f.write(f"{os.getpid()}\n")
        if seconds and not (marks / "release").exists():
            time.sleep(seconds)
        return {"y": x * x, "pid": os.getpid()}

    @bentoml.task
    async def slow(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    @bentoml.task
    def boom(self) -> str:
        raise ValueError("no luck")

    @bentoml.api
    def ping(self) -> str:
        return "pong"
'''


def _write(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "service.py").write_text(textwrap.dedent(SERVICE))
    marks = tmp_path / "marks"
    marks.mkdir()
    return tmp_path / "tasks.sqlite3", {"MARKS": str(marks), "BENTO_TASK_DB": str(tmp_path / "tasks.sqlite3")}


def _wait(url: str, api: str, task_id: str, want: str = "success", timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = httpx.get(f"{url}/{api}/status", params={"task_id": task_id}).json()
        if status["status"] == want:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def test_submit_status_get_and_bad_input(tmp_path: Path) -> None:
    db, env = _write(tmp_path)
    with serve(["service.py:Jobs"], tmp_path, env=env) as server:
        url = server.url
        submitted = httpx.post(f"{url}/square/submit", json={"x": 7})
        assert submitted.status_code == 200, submitted.text
        info = submitted.json()
        assert info["status"] == "in_progress" and set(info) >= {"task_id", "created_at", "executed_at"}
        _wait(url, "square", info["task_id"])
        got = httpx.get(f"{url}/square/get", params={"task_id": info["task_id"]})
        assert got.status_code == 200 and got.json()["y"] == 49
        # A failing task is 'failure' and its result is the API's error, as a direct call would give.
        bad = httpx.post(f"{url}/boom/submit", json={}).json()
        _wait(url, "boom", bad["task_id"], want="failure")
        error = httpx.get(f"{url}/boom/get", params={"task_id": bad["task_id"]})
        assert error.status_code == 500 and "no luck" in error.json()["message"]
        # Bad input is refused before anything is queued.
        rows = sqlite3.connect(db).execute("SELECT count(*) FROM tasks").fetchone()[0]
        assert httpx.post(f"{url}/square/submit", json={"x": "seven"}).status_code == 400
        assert httpx.post(f"{url}/square/submit", content=b"{not json",
                          headers={"content-type": "application/json"}).status_code == 400
        assert sqlite3.connect(db).execute("SELECT count(*) FROM tasks").fetchone()[0] == rows
        # Unknown ids are 404, a missing id 400, a wrong method 405; the task route is not a direct API.
        assert httpx.get(f"{url}/square/status", params={"task_id": "nope"}).status_code == 404
        assert httpx.get(f"{url}/square/get", params={"task_id": "nope"}).status_code == 404
        assert httpx.get(f"{url}/square/status").status_code == 400
        assert httpx.get(f"{url}/square/submit").status_code == 405
        assert httpx.post(f"{url}/square", json={"x": 1}).status_code == 404
        assert httpx.post(f"{url}/ping", json={}).text == "pong"


def test_cancel_and_retry(tmp_path: Path) -> None:
    _, env = _write(tmp_path)
    with serve(["service.py:Jobs"], tmp_path, env=env) as server:
        url = server.url
        running = httpx.post(f"{url}/slow/submit", json={"seconds": 30}).json()
        _wait(url, "slow", running["task_id"], want="in_progress")
        time.sleep(0.3)  # let a worker claim it
        cancelled = httpx.put(f"{url}/slow/cancel", params={"task_id": running["task_id"]})
        assert cancelled.status_code == 200
        _wait(url, "slow", running["task_id"], want="cancelled", timeout=10)
        assert httpx.get(f"{url}/slow/get", params={"task_id": running["task_id"]}).status_code >= 400
        # Retry submits the same request again as a new task.
        done = httpx.post(f"{url}/square/submit", json={"x": 3}).json()
        _wait(url, "square", done["task_id"])
        assert httpx.put(f"{url}/square/cancel", params={"task_id": done["task_id"]}).status_code == 409
        again = httpx.post(f"{url}/square/retry", params={"task_id": done["task_id"]})
        assert again.status_code == 200 and again.json()["task_id"] != done["task_id"]
        _wait(url, "square", again.json()["task_id"])
        assert httpx.get(f"{url}/square/get", params={"task_id": again.json()["task_id"]}).json()["y"] == 9


def test_queued_tasks_survive_a_killed_server_and_run_after_restart(tmp_path: Path) -> None:
    db, env = _write(tmp_path)
    env["BENTO_TASK_STALE_AFTER"] = "1"  # take back a dead worker's tasks after 1 s instead of 10
    marks = tmp_path / "marks"
    with serve(["service.py:Jobs"], tmp_path, env=env) as server:
        ids = [httpx.post(f"{server.url}/square/submit", json={"x": x, "seconds": 60}).json()["task_id"]
               for x in range(6)]
        deadline = time.monotonic() + 20
        while len(list(marks.iterdir())) < 2:  # each worker is running one; four are queued
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(server.proc.pid, signal.SIGKILL)  # supervisor and workers die at once
        server.proc.wait()
    states = sorted(s for (s,) in sqlite3.connect(db).execute("SELECT state FROM tasks"))
    assert states == ["pending"] * 4 + ["running"] * 2
    (marks / "release").touch()
    with serve(["service.py:Jobs"], tmp_path, env=env) as server:
        # Nothing was dropped: the two that were running are run again, the queued ones run.
        for x, task_id in enumerate(ids):
            _wait(server.url, "square", task_id)
            assert httpx.get(f"{server.url}/square/get", params={"task_id": task_id}).json()["y"] == x * x
    runs = {p.name: len(p.read_text().split()) for p in marks.glob("start-*")}
    assert sorted(runs.values()) == [1, 1, 1, 1, 2, 2]


@pytest.mark.parametrize("workers", [2])
def test_two_workers_never_run_the_same_task(tmp_path: Path, workers: int) -> None:
    _, env = _write(tmp_path)
    with serve(["service.py:Jobs"], tmp_path, env=env) as server:
        ids = [httpx.post(f"{server.url}/square/submit", json={"x": x, "seconds": 0.02}).json()["task_id"]
               for x in range(40)]
        pids = set()
        for x, task_id in enumerate(ids):
            _wait(server.url, "square", task_id)
            result = httpx.get(f"{server.url}/square/get", params={"task_id": task_id}).json()
            assert result["y"] == x * x
            pids.add(result["pid"])
    runs = {p.name: len(p.read_text().split()) for p in (tmp_path / "marks").glob("start-*")}
    assert runs == {f"start-{x}": 1 for x in range(40)}  # each ran exactly once
    assert len(pids) == workers


def test_clients_submit_and_fetch_tasks(tmp_path: Path) -> None:
    import asyncio

    import bento
    from bento.errors import RemoteError
    from bento.task_client import ResultStatus

    _, env = _write(tmp_path)
    with serve(["service.py:Jobs"], tmp_path, env=env) as server:
        doc = httpx.get(f"{server.url}/docs.json").json()
        assert doc["paths"]["/square/submit"]["post"]["x-bento-task"] is True
        assert "/square" not in doc["paths"] and "/square/status" in doc["paths"]
        from openapi_spec_validator import validate

        validate(doc)  # the task routes keep the document valid OpenAPI 3.1
        with bento.SyncHTTPClient(server.url) as client:
            task = client.square.submit(x=5)
            assert task.wait(timeout=20)["y"] == 25
            assert task.get_status() is ResultStatus.SUCCESS
            assert client.square(x=6)["y"] == 36  # submit and wait
            again = task.retry()
            assert again.id != task.id and again.wait(timeout=20)["y"] == 25
            failed = client.boom.submit()
            with pytest.raises(RemoteError, match="no luck"):
                failed.wait(timeout=20)
            slow = client.slow.submit(seconds=30)
            assert slow.cancel() in (ResultStatus.IN_PROGRESS, ResultStatus.CANCELLED)
            deadline = time.monotonic() + 10
            while slow.get_status() is not ResultStatus.CANCELLED:
                assert time.monotonic() < deadline
                time.sleep(0.05)

        async def use_async() -> Any:
            async with bento.AsyncHTTPClient(server.url) as client:
                task = await client.square.submit(x=9)
                return await task.wait(timeout=20)

        assert asyncio.run(use_async())["y"] == 81


def test_concurrent_submissions_while_workers_claim(tmp_path: Path) -> None:
    """Many clients submit at once while both workers claim and finish: every submission is accepted
    (a shared connection used by several threads, or a read left open, made some fail with 'database is
    locked')."""
    from concurrent.futures import ThreadPoolExecutor

    _, env = _write(tmp_path)
    with serve(["service.py:Jobs"], tmp_path, env=env) as server:
        with httpx.Client(base_url=server.url) as client:
            def submit(x: int) -> tuple[int, str]:
                r = client.post("/square/submit", json={"x": x})
                if r.status_code == 200:  # reads between the writes, as polling clients do
                    status = client.get("/square/status", params={"task_id": r.json()["task_id"]})
                    if status.status_code != 200:
                        return status.status_code, status.text
                return r.status_code, r.text

            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(submit, range(240)))
        assert [a for a in answers if a[0] != 200] == []
        for x, (_, text) in enumerate(answers[-5:], start=235):
            task_id = json.loads(text)["task_id"]
            _wait(server.url, "square", task_id)
            assert httpx.get(f"{server.url}/square/get", params={"task_id": task_id}).json()["y"] == x * x
