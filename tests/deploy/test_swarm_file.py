"""The Swarm stack file of `bento deploy --target swarm --write FILE` (no engine needed), pinned by golden files,
and the bad inputs that must stop `bento deploy` before anything is created."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from bento.core.errors import InvalidArgument
from bento.deploy import swarm
from bento.deploy.plan import make_plan
from test_kubernetes import MANIFEST, _service, check_golden  # tests/deploy/test_kubernetes.py
from utils import run_cli  # tests/utils.py


def plan(**options: Any):  # type: ignore[no-untyped-def]
    return make_plan(MANIFEST, "shop:20240101-abc", lambda slug: f"http://{slug}:3000", **options)


@pytest.mark.parametrize("mode", ["ingress", "host"])
def test_stack_file_matches_golden(mode: str) -> None:
    text = swarm.render(plan(replicas={"text_encoder": 2}), swarm.Publish(port=8080, mode=mode))  # type: ignore[arg-type]
    check_golden(f"swarm-{mode}.yaml", text)
    stack = yaml.safe_load(text)
    encoder = stack["services"]["text-encoder"]
    assert encoder["deploy"]["replicas"] == 2
    assert encoder["deploy"]["endpoint_mode"] == "dnsrr"
    assert encoder["deploy"]["update_config"]["order"] == "start-first"
    assert encoder["deploy"]["resources"]["reservations"]["generic_resources"] == [
        {"discrete_resource_spec": {"kind": "NVIDIA-GPU", "value": 1}}]
    assert encoder["deploy"]["resources"]["limits"] == {"cpus": "0.5", "memory": str(1 << 30)}
    assert encoder["stop_grace_period"] == "10s"  # the image's 8 s graceful shutdown plus a margin
    assert "readyz" in encoder["healthcheck"]["test"][-1]
    front = stack["services"]["front"]
    assert front["environment"]["BENTO_DEPENDENCY_URL_RANKER"] == "http://ranker:3000"
    assert "BENTO_DEPENDENCY_URL_FRONT" not in encoder["environment"]  # only what a service calls
    if mode == "ingress":
        assert front["deploy"]["endpoint_mode"] == "vip" and front["ports"][0]["mode"] == "ingress"
        assert swarm.GATEWAY not in stack["services"]
    else:
        assert "ports" not in front and front["deploy"]["endpoint_mode"] == "dnsrr"
        gateway = stack["services"][swarm.GATEWAY]
        assert gateway["ports"][0] == {"target": 3000, "published": 8080, "protocol": "tcp", "mode": "host"}
        assert "http://front:3000" in gateway["command"]


@pytest.mark.parametrize("stack", ["bad/name", "-x", "a" * 60, ""])
def test_stack_names_docker_refuses_are_refused_first(stack: str) -> None:
    with pytest.raises(InvalidArgument, match="stack name"):
        swarm.check_stack_name(stack, plan())


def test_cli_only_writes_the_file_with_o(tmp_path: Path) -> None:
    from bento.store import open_store

    with open_store().bentos.create("shop", version="v1", extra={"services": [
            _service("front", ["model"]), _service("model", [])]}) as b:
        b.path_of("env/docker/Dockerfile").write_text("FROM scratch\n")
    out = tmp_path / "stack.yaml"
    # no engine is needed to write the file: point DOCKER_HOST nowhere
    result = run_cli("deploy", "shop:v1", "--name", "shop", "--write", str(out), "--replicas", "model=3",
                     env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert yaml.safe_load(out.read_text())["services"]["model"]["deploy"]["replicas"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bento-home", "stack.yaml"]  # no temporary left


@pytest.mark.parametrize("args, code, message", [
    (["--replicas", "nope=2"], 2, "error: --replicas nope: the bento has no such service (its services: front, model)"),
    (["--replicas", "model=0"], 2, "error: --replicas 'model=0': write SERVICE=N with N a positive integer, e.g. model=2"),
    (["--max-replicas", "model=2"], 2, "error: --max-replicas is for --target kubernetes (Swarm has no autoscaler)"),
])
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    from bento.store import open_store

    with open_store().bentos.create("shop", version="v1", extra={"services": [
            _service("front", ["model"]), _service("model", [])]}) as b:
        b.path_of("env/docker/Dockerfile").write_text("FROM scratch\n")
    result = run_cli("deploy", "shop:v1", "--name", "shop", *args, "--write", str(tmp_path / "s.yaml"))
    assert (result.returncode, result.stderr.strip()) == (code, message)
    assert not (tmp_path / "s.yaml").exists()


def test_no_engine_is_one_line(tmp_path: Path) -> None:
    from bento.store import open_store

    with open_store().bentos.create("shop", version="v1", extra={"services": [_service("front", [])]}) as b:
        b.path_of("env/docker/Dockerfile").write_text("FROM scratch\n")
    result = run_cli("deploy", "shop:v1", "--name", "shop", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert result.returncode == 8
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: no Docker engine is reachable at unix://{tmp_path}/none.sock")
    assert os.listdir(tmp_path) == ["bento-home"]
