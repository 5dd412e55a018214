"""Composition, hooks, batching and runner services under the real ``bento serve`` (supervisor, worker
processes, Unix sockets between services), driven over HTTP like a user would."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import wave
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from utils import serve  # tests/utils.py (tests/ is on sys.path via its conftest)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "composition"


def copy_example(name: str, directory: Path) -> None:
    shutil.copy(EXAMPLES / name, directory / name)


def wait_until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)
    return result


def metric(url: str, name: str, labels: dict[str, str]) -> float:
    text = httpx.get(url + "/metrics").text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


@pytest.mark.parametrize("mode", [[], ["--development"]], ids=["workers", "development"])
def test_seed_greeting_card_composition(tmp_path: Path, mode: list[str]) -> None:
    copy_example("greeting_card.py", tmp_path)
    with serve(["greeting_card.py:GreetingCardService", *mode], cwd=tmp_path) as server:
        response = httpx.post(server.url + "/generate_card", json={"message": "Happy birthday!"}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(response.content)) as card:
            message = card.read("message.txt").decode()
            image = np.load(io.BytesIO(card.read("image.npy")))
            with wave.open(io.BytesIO(card.read("audio.wav"))) as audio:
                frames = audio.getnframes()
    assert message.startswith("Happy birthday! Wishing you joy")
    assert image.dtype == np.uint8 and image.shape == (64, 64, 3)  # an ndarray crossed, not a JSON list
    assert frames == 800 * len(message.split())  # the dependency's Path result arrived as a readable file


GRAPH = """
    import os
    import time

    import numpy as np

    import bento
    from bento.errors import NotFound, RemoteError
    from bento.core.deadline import remaining


    @bento.service(traffic={"timeout": 30}, workers=2)
    class Worker:
        def __init__(self) -> None:
            gate = os.environ.get("GATE")
            while gate and not os.path.exists(gate):
                time.sleep(0.05)

        @bento.api
        def echo(self, x: np.ndarray) -> np.ndarray:
            return x

        @bento.api
        def pid(self) -> int:
            return os.getpid()

        @bento.api
        def fail(self, missing: bool) -> int:
            if missing:
                raise NotFound("card 7 does not exist")
            raise ValueError("the worker could not cope")

        @bento.api
        def budget(self) -> float:
            return remaining()


    @bento.service(traffic={"timeout": 4})
    class Entry:
        worker = bento.depends(Worker)

        @bento.api
        def types(self, x: np.ndarray) -> dict:
            out = self.worker.echo(x)
            return {"type": type(out).__name__, "dtype": str(out.dtype),
                    "elsewhere": self.worker.pid() != os.getpid()}

        @bento.api
        def caught(self, missing: bool) -> dict:
            try:
                self.worker.fail(missing)
            except RemoteError as exc:
                return {"status": exc.status, "message": exc.message}
            return {}

        @bento.api
        def uncaught(self) -> int:
            return self.worker.fail(True)

        @bento.api
        async def budget(self) -> float:
            return await self.worker.to_async.budget()
"""


def test_depends_across_processes(tmp_path: Path) -> None:
    (tmp_path / "graph.py").write_text(textwrap.dedent(GRAPH))
    with serve(["graph.py:Entry"], cwd=tmp_path) as server:
        url = server.url
        out = httpx.post(url + "/types", json={"x": [[1, 2], [3, 4]]}).json()
        assert out == {"type": "ndarray", "dtype": "int64", "elsewhere": True}

        assert httpx.post(url + "/caught", json={"missing": True}).json() == {
            "status": 404, "message": "card 7 does not exist"}
        assert httpx.post(url + "/caught", json={"missing": False}).json() == {
            "status": 500, "message": "the worker could not cope"}
        uncaught = httpx.post(url + "/uncaught", json={})
        assert uncaught.status_code == 502
        assert uncaught.json() == {"error": "RemoteError", "message": "card 7 does not exist"}

        left = httpx.post(url + "/budget", json={}).json()
        assert 0 < left <= 4  # the entry's traffic.timeout travelled, not the worker's own 30 s

        import pickle

        internal = httpx.post(url + "/types", content=pickle.dumps({"x": np.ones(2)}),
                              headers={"content-type": "application/vnd.bento.pickle"})
        assert internal.status_code == 415  # the internal wire format stays off the public port


def test_entry_is_ready_only_when_its_dependencies_are(tmp_path: Path) -> None:
    (tmp_path / "graph.py").write_text(textwrap.dedent(GRAPH))
    gate = tmp_path / "gate"
    with serve(["graph.py:Entry"], cwd=tmp_path, env={"GATE": str(gate)}, wait_ready=False) as server:
        wait_until(lambda: _status(server.url + "/livez") == 200, timeout=30)
        assert _status(server.url + "/readyz") == 503  # Worker is still in __init__
        gate.touch()
        wait_until(lambda: _status(server.url + "/readyz") == 200, timeout=30)
        assert httpx.post(server.url + "/types", json={"x": [1.5]}).json()["type"] == "ndarray"


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def test_lifecycle_hooks_with_several_workers(tmp_path: Path) -> None:
    copy_example("hooks.py", tmp_path)
    log = tmp_path / "hooks.log"
    with serve(["hooks.py:Warmup"], cwd=tmp_path, env={"HOOKS_LOG": str(log)}) as server:
        assert httpx.post(server.url + "/greet", json={"name": "Ada"}).text.startswith("hello, Ada")
        wait_until(lambda: log.read_text().count("startup") == 3)
        events = [line.split() for line in log.read_text().splitlines()]
    supervisor = server.proc.pid
    assert events[0] == ["deployment", str(supervisor)]  # once, before any worker, in the supervisor
    assert [e for e, _ in events].count("deployment") == 1
    startup_pids = {pid for e, pid in events if e == "startup"}
    assert len(startup_pids) == 3 and str(supervisor) not in startup_pids
    final = [line.split() for line in log.read_text().splitlines()]
    assert {pid for e, pid in final if e == "shutdown"} == startup_pids  # every worker, at graceful exit
    assert [e for e, _ in final].count("deployment") == 1


BATCHED = """
    import os
    import threading
    import time
    from pathlib import Path

    import numpy as np

    import bento

    device = threading.Lock()  # one model call at a time, like a single accelerator


    @bento.service(workers=1, threads=4)
    class Batched:
        @bento.api(batchable=True, max_batch_size=64, max_latency_ms=20000)
        def double(self, x: np.ndarray) -> np.ndarray:
            with device:
                time.sleep(0.05)
                return x * 2

        @bento.api(batchable=True, max_latency_ms=300)
        def gated(self, x: list[str]) -> list[str]:
            Path(os.environ["STARTED"]).touch()
            while not Path(os.environ["GATE"]).exists():
                time.sleep(0.01)
            return [s.upper() for s in x]
"""


def test_batching_merges_concurrent_requests_and_serves_a_lone_one_alone(tmp_path: Path) -> None:
    (tmp_path / "batched.py").write_text(textwrap.dedent(BATCHED))
    env = {"GATE": str(tmp_path / "gate"), "STARTED": str(tmp_path / "started")}
    with serve(["batched.py:Batched"], cwd=tmp_path, env=env) as server:
        url = server.url
        lone_before = metric(url, "bento_batch_size_bucket", {"api": "double", "le": "1.0"})
        assert httpx.post(url + "/double", json={"x": [[1.0, 2.0]]}).json() == [[2.0, 4.0]]
        assert metric(url, "bento_batch_size_bucket", {"api": "double", "le": "1.0"}) == lone_before + 1

        results: dict[int, Any] = {}

        def client(i: int) -> None:
            with httpx.Client(timeout=60) as http:
                results[i] = http.post(url + "/double", json={"x": [[float(i)], [i + 0.5]]}).json()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == {i: [[2.0 * i], [2.0 * i + 1.0]] for i in range(32)}
        batches = metric(url, "bento_batch_size_count", {"api": "double"}) - 1
        rows = metric(url, "bento_batch_size_sum", {"api": "double"}) - 1
        assert rows == 64
        assert batches < 32  # concurrent requests shared calls (batch sizes > 1 row per request)


def test_batched_request_that_cannot_meet_max_latency_gets_503(tmp_path: Path) -> None:
    (tmp_path / "batched.py").write_text(textwrap.dedent(BATCHED))
    gate, started = tmp_path / "gate", tmp_path / "started"
    with serve(["batched.py:Batched"], cwd=tmp_path, env={"GATE": str(gate), "STARTED": str(started)}) as server:
        first: dict[str, httpx.Response] = {}
        blocked = threading.Thread(target=lambda: first.setdefault(
            "r", httpx.post(server.url + "/gated", json={"x": ["a"]}, timeout=60)))
        blocked.start()
        wait_until(started.exists)  # the model is busy with the first request
        late = httpx.post(server.url + "/gated", json={"x": ["b"]}, timeout=60)
        gate.touch()
        blocked.join()
        assert late.status_code == 503  # waited past max_latency_ms=300 behind the busy model
        assert late.json()["error"] == "ServiceUnavailable"
        assert "max_latency_ms=300" in late.json()["message"]
        assert first["r"].json() == ["A"]  # the request already being served was answered
        assert metric(server.url, "bento_batch_rejected_total", {"api": "gated"}) == 1


@pytest.mark.parametrize("target", ["MyService", "IrisClassifier"])
def test_seed_iris_examples_with_saved_models(tmp_path: Path, target: str) -> None:
    """MyService: the model as a legacy runner behind runner_service; IrisClassifier: joblib files from the
    store plus a batchable Preprocessing dependency."""
    copy_example("iris.py", tmp_path)
    copy_example("train_iris.py", tmp_path)
    subprocess.run([sys.executable, "train_iris.py"], cwd=tmp_path, check=True, capture_output=True)
    with serve([f"iris.py:{target}"], cwd=tmp_path) as server:
        rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
        response = httpx.post(server.url + "/classify", json={"input_series": rows})
        assert response.status_code == 200, response.text
        assert response.json() == [0, 2, 1]
