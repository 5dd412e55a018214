"""The bundled examples work the way the README and docs/containerize.md tell a new user to use them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from utils import run_cli, serve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quickstart_serves_its_apis_and_the_api_page(tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", project)
    with serve(["service.py:Summarizer"], cwd=project) as server:
        text = "Bento serves models. It builds reproducible bentos. Bento serves them fast."
        answer = httpx.post(f"{server.url}/summarize", json={"text": text, "sentences": 1})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        assert answer.text in text and answer.text.endswith(".")
        norm = httpx.post(f"{server.url}/normalize", json={"vector": [3, 4]}).json()
        assert norm == pytest.approx([0.6, 0.8])
        page = httpx.get(server.url + "/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        bad = httpx.post(f"{server.url}/summarize", json={"sentences": "two"})
        assert bad.status_code == 400 and {d["field"] for d in bad.json()["detail"]} == {"text", "sentences"}


@pytest.mark.slow
def test_iris_trains_builds_and_serves_the_built_bento(tmp_path: Path) -> None:
    project = tmp_path / "iris"
    shutil.copytree(EXAMPLES / "iris", project)
    trained = subprocess.run([sys.executable, "train.py"], cwd=project, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    assert "saved iris_sklearn:" in trained.stdout

    built = run_cli("build", cwd=project, timeout=300)
    assert built.returncode == 0, built.stderr
    listed = run_cli("list", "-o", "json")
    assert '"iris_classifier:' in listed.stdout

    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    shutil.rmtree(project)  # the bento must not need the project any more
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    with serve(["iris_classifier:latest"], cwd=elsewhere) as server:
        answer = httpx.post(f"{server.url}/classify", json={"input_series": rows}, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == [0, 2]  # setosa, virginica


def readme_block(heading: str) -> list[str]:
    """The command lines of the first ```bash block under ``## heading`` in the README (continuations joined)."""
    text = (EXAMPLES.parent / "README.md").read_text()
    section = text.split(f"## {heading}\n", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]


@pytest.mark.docker
@pytest.mark.slow
def test_readme_iris_commands_run_as_written(tmp_path: Path) -> None:
    """The README's container section, verbatim, on this machine (no Docker Hub), in a copy of the example;
    only the published port of the final `docker run` is a free one instead of 3000."""
    import docker

    from utils import free_port

    docker_client = docker.from_env(timeout=600)
    lines = readme_block("From a training script to a running container")
    run_line = lines[-1]
    assert run_line.startswith("docker run --rm -p 3000:3000 iris:latest")
    checkout = tmp_path / "checkout"
    shutil.copytree(EXAMPLES / "iris", checkout / "examples" / "iris")
    (checkout / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    image = "iris:latest"
    try:
        docker_client.images.get(image)
        pytest.skip(f"{image} exists on this engine; the test would replace it")
    except docker.errors.ImageNotFound:
        pass
    port = free_port()
    script = "set -e\n" + "\n".join(lines[:-1]) + "\n" + run_line.replace("--rm", "--rm -d --name bento-readme-iris", 1) \
        .replace("-p 3000:3000", f"-p 127.0.0.1:{port}:3000").split("#")[0] + "\n"
    try:
        done = subprocess.run(["bash", "-c", script], cwd=checkout, capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, done.stderr[-4000:]
        deadline = time.monotonic() + 90
        while True:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/classify", json={"input_series": [[5.1, 3.5, 1.4, 0.2]]},
                                    timeout=5)
                if answer.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the README's container never answered"
            time.sleep(0.5)
        assert answer.json() == [0]
    finally:
        for action in (lambda: docker_client.api.remove_container("bento-readme-iris", force=True),
                       lambda: docker_client.api.remove_image(image, force=True)):
            try:
                action()
            except docker.errors.NotFound:
                pass
        docker_client.close()
