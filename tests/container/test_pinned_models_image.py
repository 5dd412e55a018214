"""The image of a bento serves the model version the bento recorded, and says so in its labels and /metadata,
even when a newer version of the model was saved after the build."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from test_e2e import wait_healthy  # tests/container/test_e2e.py

import bento
from utils import free_port, run_cli  # tests/utils.py

SERVICE = '''\
import bento


@bento.service
class Answer:
    model_ref = bento.models.get("answer:latest")

    def __init__(self) -> None:
        self.model = self.model_ref.load_model()

    @bento.api
    def which(self) -> dict:
        return {"value": self.model["value"], "tag": self.model_ref.tag}
'''

BENTOFILE = '''\
service: "service:Answer"
include: ["*.py"]
python:
  vendor: true
docker:
  base_image: {base}
'''


@pytest.mark.docker
@pytest.mark.slow
def test_the_image_serves_the_recorded_model_and_labels_it(tmp_path: Path, base_image: str, docker_client,
                                                           cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    first = bento.models.save_model("answer", {"value": "first"}).tag
    project = tmp_path / "answer"
    project.mkdir()
    (project / "service.py").write_text(SERVICE)
    (project / "bentofile.yaml").write_text(BENTOFILE.format(base=base_image))
    built = run_cli("build", "-o", "tag", cwd=project, timeout=900)
    assert built.returncode == 0, built.stderr
    bento_tag = built.stdout.strip().splitlines()[-1]
    second = bento.models.save_model("answer", {"value": "second"}).tag  # a retrain after the build

    image = f"bento-pins:{bento_tag.split(':')[1]}"
    cleanup.append(image)
    result = run_cli("containerize", bento_tag, "-t", image, "--progress", "plain", "--network", "none",
                     timeout=1500)
    assert result.returncode == 0, result.stdout + result.stderr
    labels = docker_client.images.get(image).labels
    assert labels["ai.bento.tag"] == bento_tag
    assert labels["ai.bento.models"] == first

    port = free_port()
    container = docker_client.containers.run(image, detach=True, ports={"3000/tcp": ("127.0.0.1", port)})
    cleanup.append(f"container:{container.id}")
    wait_healthy(container)
    url = f"http://127.0.0.1:{port}"
    assert httpx.post(url + "/which", json={}, timeout=30).json() == {"value": "first", "tag": first}
    assert httpx.get(url + "/metadata", timeout=30).json() == {"service": "Answer", "bento": bento_tag,
                                                                "models": [first]}
    assert second != first
