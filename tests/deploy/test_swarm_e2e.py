"""`bento deploy --target swarm` on the real engine's swarm, end to end.

A two-service bento (an entry service and a `model` dependency with 2 replicas, each answering with its
container's hostname) is built, containerized and deployed by the CLI with `--publish-mode host` on a
free port. Then, with clients calling the entry service all along: both model replicas answer; one
replica's container is killed and every call still succeeds while Swarm replaces it; a new version is
deployed and not one call fails during the roll. The stack is removed whatever happens.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from container.conftest import base_image, cleanup, docker_client  # noqa: F401  (the engine fixtures)
from utils import free_port, run_cli  # tests/utils.py

SERVICE = '''\
import socket

import bento

VERSION = "{version}"


@bento.service(name="model", resources={{"cpu": "500m", "memory": "512Mi"}})
class Model:
    @bento.api
    def who(self, x: int) -> dict:
        return {{"host": socket.gethostname(), "version": VERSION, "double": 2 * x}}


@bento.service(name="front")
class Front:
    model = bento.depends(Model)

    @bento.api
    def ask(self, x: int) -> dict:
        return self.model.who(x)
'''


class Load:
    """Clients calling the entry service in a loop; counts answers per (version, host) and failures."""

    def __init__(self, url: str, clients: int = 3) -> None:
        self.url = url
        self.seen: Counter[tuple[str, str]] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    answer = client.post(f"{self.url}/ask", json={"x": 4})
                    body: Any = answer.json() if answer.status_code == 200 else None
                except (httpx.HTTPError, ValueError) as exc:
                    with self._lock:
                        self.failures.append(repr(exc))
                    continue
                with self._lock:
                    if body is None or body.get("double") != 8:
                        self.failures.append(f"{answer.status_code}: {answer.text[:200]}")
                    else:
                        self.seen[(body["version"], body["host"])] += 1

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def total(self) -> int:
        with self._lock:
            return sum(self.seen.values())


def build(project: Path, version: str) -> str:
    (project / "service.py").write_text(SERVICE.format(version=version))
    result = run_cli("build", "-o", "tag", cwd=project, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def deploy(tag: str, stack: str, port: int) -> str:
    result = run_cli("deploy", tag, "--name", stack, "--replicas", "model=2", "--publish", str(port),
                     "--publish-mode", "host", "--timeout", "180", timeout=420)
    assert result.returncode == 0, result.stderr
    assert "waiting for" in result.stderr  # progress while the services start
    return result.stdout.strip().splitlines()[-1]


def model_containers(docker_client, stack: str) -> list[Any]:  # type: ignore[no-untyped-def]
    return docker_client.containers.list(filters={"label": f"com.docker.swarm.service.name={stack}_model"})


@pytest.fixture
def stack(docker_client) -> Iterator[str]:  # type: ignore[no-untyped-def]
    name = f"bentotest{int(time.time() * 1000) % 10**8}"
    if (docker_client.info().get("Swarm") or {}).get("LocalNodeState") != "active":
        pytest.skip("the Docker engine is not in swarm mode (`docker swarm init --advertise-addr 127.0.0.1`)")
    try:
        yield name
    finally:
        from bento.core.errors import NotFound
        from bento.deploy.run import remove_swarm

        try:
            remove_swarm(name)
        except NotFound:
            pass


@pytest.mark.docker
@pytest.mark.slow
def test_deploy_scale_kill_and_roll_with_no_failed_request(tmp_path: Path, base_image: str, stack: str,
                                                           docker_client, cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "shop"
    project.mkdir()
    (project / "bentofile.yaml").write_text(f'service: "service:Front"\ninclude: ["*.py"]\n'
                                            f'docker:\n  base_image: {base_image}\n')
    v1 = build(project, "v1")
    cleanup.append(v1)
    port = free_port()
    url = deploy(v1, stack, port)
    assert url == f"http://127.0.0.1:{port}"

    # every replica of the dependency answers (dnsrr: the caller spreads its calls over all DNS answers)
    replicas = {c.attrs["Config"]["Hostname"] for c in model_containers(docker_client, stack)}
    assert len(replicas) == 2
    hosts = Counter(httpx.post(f"{url}/ask", json={"x": 1}, timeout=30).json()["host"] for _ in range(20))
    assert set(hosts) == replicas and min(hosts.values()) >= 5

    with Load(url) as load:
        while load.total() < 20:
            time.sleep(0.1)
        victim = model_containers(docker_client, stack)[0]
        victim.kill()
        until = time.monotonic() + 90
        while time.monotonic() < until:  # Swarm starts a replacement
            running = model_containers(docker_client, stack)
            if len(running) == 2 and victim.id not in {c.id for c in running}:
                break
            time.sleep(0.5)
        else:
            pytest.fail("Swarm did not replace the killed replica within 90 s")
        replaced = load.total()
        time.sleep(3)
        assert load.total() > replaced  # calls kept flowing

        v2 = build(project, "v2")
        cleanup.append(v2)
        deploy(v2, stack, port)
        done = load.total()
        while load.total() < done + 20:
            time.sleep(0.1)
    assert load.failures == []  # not one failed request through the kill and the rolling update
    versions = Counter(version for version, _ in load.seen.elements())
    assert versions["v1"] > 0 and versions["v2"] >= 20
    final = httpx.post(f"{url}/ask", json={"x": 1}, timeout=30).json()
    assert final["version"] == "v2"


@pytest.mark.docker
def test_a_missing_image_or_refused_name_leaves_nothing(tmp_path: Path, base_image: str,
                                                        docker_client) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "shop"
    project.mkdir()
    (project / "bentofile.yaml").write_text(f'service: "service:Front"\ninclude: ["*.py"]\n'
                                            f'docker:\n  base_image: {base_image}\n')
    tag = build(project, "v1")
    before = {s.name for s in docker_client.services.list()}
    missing = run_cli("deploy", tag, "--name", "bentomissing", "--image", "bento-no-such-image:1")
    assert missing.returncode == 3
    assert missing.stderr.strip().splitlines()[-1].startswith(
        "error: image 'bento-no-such-image:1' is not in the Docker engine")
    refused = run_cli("deploy", tag, "--name", "no/slash")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("error: stack name 'no/slash' is refused by Docker")
    assert {s.name for s in docker_client.services.list()} == before
    assert not docker_client.networks.list(names=["bentomissing_bento"])


@pytest.mark.docker
def test_a_stack_docker_refuses_midway_is_removed_whole(tmp_path: Path, base_image: str, stack: str,
                                                       docker_client) -> None:  # type: ignore[no-untyped-def]
    """Docker creates the network, then refuses the entry service (its ingress port is taken): the new
    stack is removed again, network included."""
    from docker.types import EndpointSpec

    project = tmp_path / "shop"
    project.mkdir()
    (project / "bentofile.yaml").write_text(f'service: "service:Front"\ninclude: ["*.py"]\n'
                                            f'docker:\n  base_image: {base_image}\n')
    tag = build(project, "v1")
    port = free_port()
    blocker = docker_client.services.create(base_image, ["sleep", "600"], name=f"{stack}-blocker",
                                            endpoint_spec=EndpointSpec(ports={port: 80}))
    try:
        result = run_cli("deploy", tag, "--name", stack, "--image", base_image, "--publish", str(port))
        assert result.returncode == 12, result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: docker refused stack {stack!r}:") and str(port) in last
        label = {"label": f"com.docker.stack.namespace={stack}"}
        assert docker_client.services.list(filters=label) == []
        assert docker_client.networks.list(filters=label) == []
    finally:
        blocker.remove()


BROKEN = '''\
import bento


@bento.service(name="model")
class Model:
    def __init__(self) -> None:
        raise RuntimeError("weights not found")

    @bento.api
    def who(self, x: int) -> int:
        return x


@bento.service(name="front")
class Front:
    model = bento.depends(Model)

    @bento.api
    def ask(self, x: int) -> int:
        return self.model.who(x)
'''


@pytest.mark.docker
def test_a_service_that_cannot_start_is_reported_without_waiting_out_the_timeout(
        tmp_path: Path, base_image: str, stack: str, docker_client, cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "broken"
    project.mkdir()
    (project / "service.py").write_text(BROKEN)
    (project / "bentofile.yaml").write_text(f'service: "service:Front"\ninclude: ["*.py"]\n'
                                            f'docker:\n  base_image: {base_image}\n')
    result = run_cli("build", "-o", "tag", cwd=project, timeout=300)
    assert result.returncode == 0, result.stderr
    tag = result.stdout.strip().splitlines()[-1]
    cleanup.append(tag)
    failed = run_cli("deploy", tag, "--name", stack, "--publish", str(free_port()), "--publish-mode", "host",
                     "--timeout", "400", timeout=600)
    assert failed.returncode == 12
    assert failed.stderr.strip().splitlines()[-1].startswith(f"error: service model of stack {stack!r} cannot start: ")
    assert f"docker service logs {stack}_model" in failed.stderr  # told as it keeps failing, not at --timeout
