"""`bento deploy --target kubernetes`: manifests checked against the official Kubernetes schemas
(`kubernetes-validate` ships them, so this runs offline) and pinned whole by golden files.

Regenerate the golden files after an intended change with BENTO_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bento.core.errors import InvalidArgument, InvalidConfig
from bento.deploy import kubernetes
from utils import run_cli  # tests/utils.py

GOLDEN = Path(__file__).parent / "golden"
K8S_VERSION = "1.30.0"


def _service(name: str, deps: list[str], **resources: Any) -> dict[str, Any]:
    return {"name": name, "config": {"resources": {"cpu": None, "memory": None, "gpu": 0, "gpu_type": None,
                                                   **resources}},
            "dependencies": [{"attr": d, "service": d, "url": None} for d in deps]}


MANIFEST: dict[str, Any] = {
    "name": "shop", "version": "20240101-abc", "digest": "d" * 64,
    "services": [
        _service("Front", ["text_encoder", "ranker"], cpu=1, memory="512Mi"),
        _service("text_encoder", [], cpu="500m", memory="1Gi", gpu=1, gpu_type="nvidia-tesla-t4"),
        _service("ranker", ["text_encoder"], cpu="2", memory="2Gi"),
    ],
}


def validate(text: str) -> list[dict[str, Any]]:
    objects = [doc for doc in yaml.safe_load_all(text) if doc]
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)  # raises on any schema violation
    return objects


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("BENTO_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from its golden file (BENTO_UPDATE_GOLDEN=1 to accept)"


def test_three_services_validate_and_match_golden(tmp_path: Path) -> None:
    written = kubernetes.write(MANIFEST, tmp_path / "k8s", image="registry.local/shop:1",
                               replicas={"text_encoder": 2}, max_replicas={"ranker": 6}, namespace="ml")
    assert [p.name for p in written] == ["shop-front.yaml", "shop-text-encoder.yaml", "shop-ranker.yaml"]
    by_kind: dict[str, dict[str, Any]] = {}
    for path in written:
        text = path.read_text()
        for obj in validate(text):
            by_kind[f"{obj['kind']}/{obj['metadata']['name']}"] = obj
        check_golden(f"kubernetes-{path.name}", text)
    assert sorted(by_kind) == ["Deployment/shop-front", "Deployment/shop-ranker", "Deployment/shop-text-encoder",
                               "HorizontalPodAutoscaler/shop-ranker", "Service/shop-front", "Service/shop-ranker",
                               "Service/shop-text-encoder"]
    encoder = by_kind["Deployment/shop-text-encoder"]["spec"]
    container = encoder["template"]["spec"]["containers"][0]
    assert encoder["replicas"] == 2
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert encoder["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "nvidia-tesla-t4"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    front_env = {e["name"]: e["value"] for e in
                 by_kind["Deployment/shop-front"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert front_env["BENTO_SERVICE"] == "Front"
    assert front_env["BENTO_DEPENDENCY_URL_TEXT_ENCODER"] == "http://shop-text-encoder:3000"  # Service DNS name
    assert front_env["BENTO_DEPENDENCY_URL_RANKER"] == "http://shop-ranker:3000"
    assert by_kind["Service/shop-text-encoder"]["spec"]["clusterIP"] == "None"  # headless: every pod in DNS
    assert by_kind["HorizontalPodAutoscaler/shop-ranker"]["spec"]["maxReplicas"] == 6
    assert by_kind["Deployment/shop-front"]["metadata"]["labels"]["ai.bento/digest"] == "d" * 63
    assert by_kind["Deployment/shop-front"]["metadata"]["annotations"]["ai.bento/digest"] == "d" * 64


def test_validation_would_catch_a_broken_manifest() -> None:
    """The schema check itself: a wrong type in a Deployment is an error (so the test above can fail)."""
    objects = kubernetes.documents(MANIFEST, image="x:1")["shop-front"]
    broken = yaml.safe_load(yaml.safe_dump(objects[0]))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_gpu_without_a_node_strategy_fails_and_writes_nothing(tmp_path: Path) -> None:
    manifest = {**MANIFEST, "services": [_service("Front", ["gpu"]), _service("gpu", [], gpu=1)]}
    with pytest.raises(InvalidConfig, match="asks for 1 GPU.*gpu_type.*--gpu-node-selector"):
        kubernetes.write(manifest, tmp_path / "out", image="x:1")
    assert not (tmp_path / "out").exists()
    written = kubernetes.write(manifest, tmp_path / "out", image="x:1", gpu_node_selector={"pool": "gpu"})
    gpu = [o for o in validate(written[1].read_text()) if o["kind"] == "Deployment"][0]
    assert gpu["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "gpu"}


def test_bad_replica_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="--replicas nope: the bento has no such service"):
        kubernetes.documents(MANIFEST, image="x:1", replicas={"nope": 2})
    with pytest.raises(InvalidConfig, match="set resources.cpu"):
        kubernetes.documents({**MANIFEST, "services": [_service("Front", [])]}, image="x:1",
                             max_replicas={"Front": 3})
    with pytest.raises(InvalidArgument, match="below its --replicas"):
        kubernetes.documents(MANIFEST, image="x:1", replicas={"ranker": 4}, max_replicas={"ranker": 2})


def test_cli_writes_manifests_of_a_stored_bento(tmp_path: Path) -> None:
    from bento.store import open_store

    with open_store().bentos.create("shop", version="v1", extra={k: v for k, v in MANIFEST.items()
                                                                if k not in ("name", "version", "digest")}) as b:
        b.path_of("src/service.py").write_text("")
        b.path_of("env/docker/Dockerfile").write_text("FROM scratch\n")
    result = run_cli("deploy", "shop:v1", "--target", "kubernetes", "--write", str(tmp_path / "k8s"),
                     "--gpu-node-selector", "pool=gpu", "--max-replicas", "Front=4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(tmp_path / "k8s" / f) for f in
                                     ("shop-front.yaml", "shop-text-encoder.yaml", "shop-ranker.yaml")]
    for name in result.stdout.split():
        validate(Path(name).read_text())
    bad = run_cli("deploy", "shop:v1", "--target", "kubernetes", "--write", str(tmp_path / "k2"), "--replicas", "x=y")
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: --replicas 'x=y': write SERVICE=N with N a positive integer, e.g. model=2")
    assert not (tmp_path / "k2").exists()
