"""One service per process, dependencies over HTTP by URL (what `bento deploy` runs in each container).

Real `bento serve --service NAME` processes on loopback; the only stand-in is DNS: two replicas of one
service are two servers on 127.0.0.1 and 127.0.0.2, and a resolver that answers both for one name.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from bento.core.loader import import_service
from bento.core.deployment import url_env as env_name
from bento.runtime.http_remote import HTTPRemoteService
from bento.runtime.replicas import Replicas
from utils import free_port, serve  # tests/utils.py

SERVICE = '''\
import asyncio
import os
from pathlib import Path
from typing import Generator

import bento
from bento.core import deadline


@bento.service(name="model", traffic={"timeout": 60})
class Model:
    @bento.api
    def who(self, x: int) -> dict:
        return {"replica": os.environ.get("REPLICA", "?"), "double": 2 * x, "pid": os.getpid()}

    @bento.api
    async def budget(self) -> float:
        return deadline.remaining()

    @bento.api
    async def sleep(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    @bento.api
    def shout(self, text: str) -> str:
        return text.upper()

    @bento.api
    def count(self, n: int) -> Generator[dict, None, None]:
        for i in range(n):
            yield {"i": i}

    @bento.api
    def size(self, blob: Path, label: str) -> dict:
        return {"label": label, "bytes": blob.stat().st_size, "name": blob.name}

    @bento.api
    def fail(self) -> int:
        raise bento.errors.NotFound("no such thing")


@bento.service(name="entry", traffic={"timeout": 2})
class Entry:
    model = bento.depends(Model)

    @bento.api
    def ask(self, x: int) -> dict:
        return self.model.who(x)

    @bento.api
    async def budget(self) -> float:
        return await self.model.budget()

    @bento.api
    async def sleep(self, seconds: float) -> float:
        return await self.model.sleep(seconds)
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "svc.py").write_text(SERVICE)
    return tmp_path


def test_env_name_is_upper_case_with_underscores() -> None:
    assert env_name("model") == "BENTO_DEPENDENCY_URL_MODEL"
    assert env_name("Text-Encoder.v2") == "BENTO_DEPENDENCY_URL_TEXT_ENCODER_V2"


def test_entry_calls_its_dependency_in_another_process_by_url(project: Path) -> None:
    with serve(["svc.py:Entry", "--service", "model"], project, env={"REPLICA": "far"}) as model:
        env = {env_name("model"): model.url, "REPLICA": "near"}
        with serve(["svc.py:Entry", "--service", "entry"], project, env=env) as entry:
            answer = httpx.post(f"{entry.url}/ask", json={"x": 21}, timeout=10)
            assert answer.status_code == 200, answer.text
            assert answer.json()["double"] == 42
            assert answer.json()["replica"] == "far"  # answered by the other process, not an in-container worker
            # the caller's deadline (entry: 2 s) travels with the call and bounds the dependency's own 60 s
            budget = httpx.post(f"{entry.url}/budget", json={}, timeout=10).json()
            assert 0 < budget <= 2
            late = httpx.post(f"{entry.url}/sleep", json={"seconds": 5}, timeout=10)
            assert late.status_code == 504, late.text
            assert "serving entry" in entry.output() and "model: 1 worker" not in entry.output()


def test_serving_one_service_of_the_graph_alone(project: Path) -> None:
    with serve(["svc.py:Entry"], project, env={"BENTO_SERVICE": "model"}) as model:  # as the image is told
        assert httpx.post(f"{model.url}/who", json={"x": 1}, timeout=10).json()["double"] == 2
        assert httpx.post(f"{model.url}/ask", json={"x": 1}, timeout=10).status_code == 404
    # without a URL, the dependency keeps today's in-container Unix-socket path
    with serve(["svc.py:Entry", "--service", "entry"], project, env={"REPLICA": "same"}) as entry:
        assert httpx.post(f"{entry.url}/ask", json={"x": 1}, timeout=10).json()["replica"] == "same"


def test_unknown_service_is_a_one_line_error(project: Path) -> None:
    result = subprocess.run(["bento", "serve", "svc.py:Entry", "--service", "nope", "--port", str(free_port())],
                            cwd=project, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: --service nope: entry has no service of that name in its graph (entry, model)")


def test_round_robin_over_every_replica_and_retry_when_one_dies(project: Path) -> None:
    port = free_port()
    model = import_service("svc.py:Entry", project).dependencies["model"].on
    addresses = ["127.0.0.1", "127.0.0.2"]
    replicas = Replicas(f"http://localhost:{port}", resolve=lambda host, p: list(addresses))
    remote = HTTPRemoteService(model, replicas.url, replicas)
    with serve(["svc.py:Entry", "--service", "model"], project, env={"REPLICA": "a"}, port=port), \
            serve(["svc.py:Entry", "--service", "model"], project, env={"REPLICA": "b"}, port=port,
                  host="127.0.0.2") as b:
        seen = [remote.who(x=i)["replica"] for i in range(10)]
        assert seen.count("a") == seen.count("b") == 5
        seen_async = asyncio.run(_calls(remote, 6))
        assert sorted(seen_async) == ["a", "a", "a", "b", "b", "b"]
        b.proc.terminate()  # one replica goes away while DNS still names it
        b.proc.wait(timeout=30)
        assert {remote.who(x=i)["replica"] for i in range(10)} == {"a"}  # every call still answered
        assert set(asyncio.run(_calls(remote, 4))) == {"a"}
    remote.close()


async def _calls(remote: HTTPRemoteService, n: int) -> list[str]:
    try:
        return [(await remote.to_async.who(x=i))["replica"] for i in range(n)]
    finally:
        await remote.aclose()


def test_a_url_that_is_not_http_is_refused() -> None:
    from bento.core.errors import InvalidConfig

    with pytest.raises(InvalidConfig, match="not an http"):
        Replicas("ftp://model:21")


def test_gateway_forwards_round_robin_and_outlives_a_replica(project: Path) -> None:
    """`--publish-mode host`'s gateway in front of two real replicas (its ASGI app run in-process)."""
    from runtime.appclient import TestClient  # tests/runtime/appclient.py: starlette's, warnings quiet

    from bento.runtime.gateway import LIVEZ, Gateway

    port = free_port()
    replicas = Replicas(f"http://localhost:{port}", resolve=lambda host, p: ["127.0.0.1", "127.0.0.2"])
    with serve(["svc.py:Entry", "--service", "model"], project, env={"REPLICA": "a"}, port=port), \
            serve(["svc.py:Entry", "--service", "model"], project, env={"REPLICA": "b"}, port=port,
                  host="127.0.0.2") as b, \
            TestClient(Gateway(replicas.url, replicas)) as gateway:
        assert gateway.get(LIVEZ).json() == {"status": "alive"}
        seen = [gateway.post("/who?ignored=1", json={"x": i}).json()["replica"] for i in range(6)]
        assert sorted(seen) == ["a", "a", "a", "b", "b", "b"]
        assert gateway.get("/readyz").status_code == 200
        missing = gateway.post("/nope", json={})
        assert missing.status_code == 404 and "no route /nope" in missing.json()["message"]  # answered, not retried
        b.proc.terminate()
        b.proc.wait(timeout=30)
        answers = [gateway.post("/who", json={"x": i}) for i in range(6)]
        assert [a.status_code for a in answers] == [200] * 6
        assert {a.json()["replica"] for a in answers} == {"a"}


def test_gateway_answers_502_when_no_replica_takes_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.appclient import TestClient  # tests/runtime/appclient.py: starlette's, warnings quiet

    from bento.runtime import gateway as gateway_module

    monkeypatch.setattr(gateway_module, "RETRY_FOR", 0.5)
    port = free_port()  # nobody listens there
    replicas = Replicas(f"http://127.0.0.1:{port}")
    with TestClient(gateway_module.Gateway(replicas.url, replicas)) as gateway:
        answer = gateway.post("/who", json={"x": 1})
    assert answer.status_code == 502
    assert answer.json()["error"] == "BadGateway" and f"127.0.0.1:{port}" in answer.json()["message"]


CHAIN = '''\
import bento


@bento.service(name="c")
class C:
    @bento.api
    def ping(self) -> str:
        return "c"


@bento.service(name="b")
class B:
    c = bento.depends(C)


@bento.service(name="a")
class A:
    b = bento.depends(B)
    c = bento.depends(C)
'''


def test_local_graph_leaves_out_what_runs_elsewhere(tmp_path: Path) -> None:
    from bento.runtime.placement import local_graph, select_service

    (tmp_path / "chain.py").write_text(CHAIN)
    a = import_service("chain.py:A", tmp_path)
    names = lambda services: [s.name for s in services]  # noqa: E731
    assert names(local_graph(a, set())) == ["a", "b", "c"]
    assert names(local_graph(a, {"b"})) == ["a", "c"]  # c is still called directly by a
    assert names(local_graph(a, {"b", "c"})) == ["a"]
    assert names(local_graph(select_service(a, "b"), {"c"})) == ["b"]


def test_every_kind_of_call_over_http(project: Path, tmp_path: Path) -> None:
    from bento.core.errors import RemoteError

    model = import_service("svc.py:Entry", project).dependencies["model"].on
    with serve(["svc.py:Entry", "--service", "model"], project) as server:
        remote = HTTPRemoteService(model, server.url)
        assert remote.shout("hi") == "HI"  # text, positional argument bound by name
        assert list(remote.count(n=3)) == [{"i": 0}, {"i": 1}, {"i": 2}]  # a stream, as SSE
        blob = tmp_path / "weights.bin"
        blob.write_bytes(b"x" * 1000)
        assert remote.size(blob, label="w") == {"label": "w", "bytes": 1000, "name": "weights.bin"}  # multipart
        with pytest.raises(RemoteError) as caught:
            remote.fail()
        assert caught.value.status == 404 and "no such thing" in str(caught.value)

        async def streamed() -> list[dict]:
            try:
                return [item async for item in remote.to_async.count(n=2)]
            finally:
                await remote.aclose()

        assert asyncio.run(streamed()) == [{"i": 0}, {"i": 1}]
        remote.close()
