"""The bundled examples work the way the README and docs/containerize.md tell a new user to use them."""

from __future__ import annotations

import shutil
import subprocess
import sys
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
