"""``BentoModel`` and ``HuggingFaceModel`` class attributes: recorded by the build, pinned when a bento is
served, re-resolved when source is served. The hub is a real HTTP server on loopback speaking the hub's
two calls (model info by revision, file by commit); this machine cannot reach the real one."""

from __future__ import annotations

import json
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from utils import run_cli, serve  # tests/utils.py

SERVICE = '''
from pathlib import Path
import bentoml

@bentoml.service
class Reader:
    llm = bentoml.models.HuggingFaceModel("acme/tiny", revision="main")
    clf = bentoml.models.BentoModel("iris:latest")

    @bentoml.api
    def which(self) -> dict:
        return {"config": Path(self.llm, "config.json").read_text(),
                "weights": Path(self.llm, "weights", "w.bin").read_bytes().hex(),
                "model": str(self.clf.tag),
                "pickled": self.clf.path_of("m.txt").read_text()}
'''

A, B = "a" * 40, "b" * 40


class FakeHub:
    """Commits of one repository; ``refs`` maps branch names to commits."""

    def __init__(self) -> None:
        self.commits: dict[str, dict[str, bytes]] = {
            A: {"config.json": b'{"v": 1}', "weights/w.bin": b"\x01\x02"},
            B: {"config.json": b'{"v": 2}', "weights/w.bin": b"\x03\x04", "../escape.txt": b"x"},
        }
        self.refs = {"main": A}
        self.requests: list[str] = []


@pytest.fixture
def hub() -> Iterator[tuple[FakeHub, str]]:
    state = FakeHub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            state.requests.append(self.path)
            parts = self.path.strip("/").split("/")
            if parts[:3] == ["api", "models", "acme"] and parts[3:5] == ["tiny", "revision"]:
                sha = state.refs.get(parts[5], parts[5])
                files = state.commits.get(sha)
                if files is None:
                    self.send_error(404)
                    return
                names = [n for n in files if not n.startswith("..")] if sha == A else list(files)
                body = json.dumps({"sha": sha, "siblings": [{"rfilename": n} for n in names]}).encode()
            elif parts[:3] == ["acme", "tiny", "resolve"]:
                body = state.commits[parts[3]]["/".join(parts[4:])]
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _save_iris(text: str) -> str:
    import bento

    with bento.models.create("iris") as m:
        m.path_of("m.txt").write_text(text)
    return str(m.tag)


def test_built_bento_pins_hub_commit_and_store_model(tmp_path: Path, hub: tuple[FakeHub, str]) -> None:
    state, url = hub
    project = tmp_path / "project"
    project.mkdir()
    (project / "service.py").write_text(textwrap.dedent(SERVICE))
    (project / "bentofile.yaml").write_text('service: "service:Reader"\ninclude: ["*.py"]\n')
    env = {"HF_ENDPOINT": url}
    first_iris = _save_iris("v1")
    built = run_cli("build", "-o", "tag", cwd=project, env=env, timeout=600)
    assert built.returncode == 0, built.stderr
    tag = built.stdout.strip().splitlines()[-1]
    shown = run_cli("get", tag, "-o", "json", env=env)
    assert "hf--acme--tiny:aaaaaaaaaaaaaaaa" in shown.stdout and first_iris in shown.stdout

    # The hub moves `main` to a new commit and a newer iris is saved after the build.
    state.refs["main"] = B
    newer_iris = _save_iris("v2")
    with serve([tag], tmp_path, env=env) as server:  # the bento serves what it recorded
        got = httpx.post(f"{server.url}/which", json={}).json()
    assert (got["config"], got["weights"], got["model"], got["pickled"]) == ('{"v": 1}', "0102", first_iris, "v1")

    # Serving source follows the hub and the store; B lists a hostile file name, which is refused.
    state.commits[B].pop("../escape.txt")
    with serve(["service.py:Reader"], project, env=env) as server:
        got = httpx.post(f"{server.url}/which", json={}).json()
    assert (got["config"], got["weights"], got["model"]) == ('{"v": 2}', "0304", newer_iris)


def test_offline_uses_the_stored_download_and_bad_names_are_refused(tmp_path: Path,
                                                                    hub: tuple[FakeHub, str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import bento
    from bento.errors import InvalidArgument, NotFound, UnsafePath

    state, url = hub
    monkeypatch.setenv("HF_ENDPOINT", url)
    ref = bento.models.HuggingFaceModel("acme/tiny")
    assert Path(ref.resolve().path, "config.json").read_text() == '{"v": 1}'
    assert ref.tag == "hf--acme--tiny:aaaaaaaaaaaaaaaa"
    seen = len(state.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = bento.models.HuggingFaceModel("acme/tiny", revision="main")
    assert again.tag == ref.tag and len(state.requests) == seen  # nothing fetched
    with pytest.raises(NotFound, match="never downloaded"):
        bento.models.HuggingFaceModel("acme/tiny", revision="dev").resolve()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(UnsafePath):  # a file name leaving the model's directory
        bento.models.HuggingFaceModel("acme/tiny", revision=B).resolve()
    assert [m.tag for m in bento.models.list("hf--acme--tiny")] == [ref.resolve().tag]  # nothing half-saved
    with pytest.raises(NotFound, match="not on the hub"):
        bento.models.HuggingFaceModel("acme/tiny", revision="nope").resolve()
    with pytest.raises(InvalidArgument):
        bento.models.HuggingFaceModel("a/b/c")
    with pytest.raises(NotFound):
        bento.models.BentoModel("nothing:latest").resolve()
