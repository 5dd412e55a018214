"""A served bento answers with the model versions it recorded at build time, whatever the store holds now;
the project's source keeps following the store. A recorded model that is missing or altered stops the server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from conftest import MakeProject
from utils import run_cli, serve  # tests/utils.py

import bento

SERVICE = '''
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

BENTOFILE = 'service: "service:Answer"\ninclude: ["*.py"]\n'


def _build(make_project: MakeProject) -> tuple[Path, str, str, str]:
    """Project with model v1 built into a bento, then v2 saved: (root, bento tag, v1 tag, v2 tag)."""
    first = bento.models.save_model("answer", {"value": "first"}).tag
    root = make_project(BENTOFILE, files={"service.py": SERVICE})
    built = run_cli("build", str(root), "-o", "tag")
    assert built.returncode == 0, built.stderr
    second = bento.models.save_model("answer", {"value": "second"}).tag
    assert bento.models.get("answer:latest").tag == second
    return root, built.stdout.strip(), first, second


@pytest.mark.slow
def test_a_served_bento_uses_its_recorded_model_and_the_source_uses_the_newest(
        make_project: MakeProject, tmp_path: Path) -> None:
    root, tag, first, second = _build(make_project)

    assert bento.bentos.get(tag).models == [first]
    shown = run_cli("get", tag, "-o", "json")
    assert shown.returncode == 0, shown.stderr
    assert [m["tag"] for m in json.loads(shown.stdout)["models"]] == [first]

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    for ref in (tag, tag.split(":")[0], str(bento.bentos.get(tag).path)):
        with serve([ref], cwd=empty) as server:
            assert httpx.post(server.url + "/which", json={}).json() == {"value": "first", "tag": first}
            metadata = httpx.get(server.url + "/metadata").json()
            assert metadata == {"service": "Answer", "bento": tag, "models": [first]}

    with serve(["service.py:Answer"], cwd=root) as server:
        assert httpx.post(server.url + "/which", json={}).json() == {"value": "second", "tag": second}
        assert httpx.get(server.url + "/metadata").json() == {"service": "Answer", "bento": None,
                                                              "models": [second]}


@pytest.mark.slow
def test_a_bento_whose_recorded_model_is_missing_does_not_start(make_project: MakeProject, tmp_path: Path) -> None:
    _, tag, first, _ = _build(make_project)
    bento.models.delete(first, force=True)
    result = run_cli("serve", tag, "--port", "0", cwd=tmp_path, timeout=60)
    assert result.returncode == 3, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert f"bento {tag} was built with model {first}, which is not in the store" in line
    assert "bento models import" in line and f"bento models pull {first}" in line


@pytest.mark.slow
def test_a_bento_whose_recorded_model_was_altered_does_not_start(make_project: MakeProject, tmp_path: Path) -> None:
    _, tag, first, _ = _build(make_project)
    pickled = bento.models.get(first).path_of("saved_model.pkl")
    pickled.chmod(0o644)
    pickled.write_bytes(pickled.read_bytes().replace(b"first", b"faked"))  # same size, different content
    result = run_cli("serve", tag, "--port", "0", cwd=tmp_path, timeout=60)
    assert result.returncode == 5, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert f"bento {tag} was built with model {first}" in line and "altered" in line
    assert "bento models import" in line
