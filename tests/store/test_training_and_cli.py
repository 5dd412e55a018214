"""The issue's user journey: a training script saves a real scikit-learn model; the CLI lists, exports,
imports into another home and verifies it; tampering is reported; services see their models."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from utils import run_cli  # tests/utils.py (tests/ is on sys.path via its conftest)

TRAIN = """
import joblib
import bento
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True)
clf = LogisticRegression(max_iter=500).fit(X, y)
with bento.models.create("iris_sklearn", labels={"framework": "sklearn"}, metadata={"accuracy": float(clf.score(X, y))}) as m:
    joblib.dump(clf, m.path_of("model.joblib"))
print(m.model.tag)
"""

SERVICE = """
import joblib
import bento

@bento.service
class Iris:
    iris_model = bento.models.get("iris_sklearn:latest")

    def __init__(self):
        self.clf = joblib.load(self.iris_model.path_of("model.joblib"))

    @bento.api
    def predict(self, x: list[list[float]]) -> list[int]:
        return self.clf.predict(x).tolist()
"""


def test_train_save_list_export_import_verify(tmp_path: Path, bento_home: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    import subprocess
    import sys

    trained = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    tag = trained.stdout.strip()
    assert tag.startswith("iris_sklearn:")

    listed = run_cli("models", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["tag"] for r in rows] == [tag] and rows[0]["labels"] == {"framework": "sklearn"}
    table = run_cli("models", "list").stdout
    assert "TAG" in table and tag in table and re.search(r"  \d+(\.\d)? (B|KiB)  ", table)

    exported = run_cli("models", "export", "iris_sklearn:latest", str(tmp_path / "out") + "/")
    assert exported.returncode == 0, exported.stderr
    archive = next((tmp_path / "out").glob("*.bentomodel"))

    other = {"BENTO_HOME": str(tmp_path / "other-home")}
    imported = run_cli("models", "import", str(archive), env=other)
    assert imported.returncode == 0 and "imported" in imported.stdout
    again = run_cli("models", "import", str(archive), env=other)
    assert again.returncode == 0 and "already in the store" in again.stdout
    verified = run_cli("models", "verify", tag, "-o", "json", env=other)
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True

    # the imported copy still predicts
    code = "import bento, joblib; m = bento.models.get('iris_sklearn'); print(joblib.load(m.path_of('model.joblib')).predict([[5.1, 3.5, 1.4, 0.2]]))"
    out = subprocess.run([sys.executable, "-c", code], env={**__import__("os").environ, **other}, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[0]", out.stderr


def test_verify_reports_altered_missing_and_extra_files(bento_home: Path) -> None:
    import bento

    with bento.models.create("m") as m:
        m.path_of("a.bin").write_bytes(b"aaaa")
        m.path_of("b.bin").write_bytes(b"bbbb")
    model = m.model
    assert run_cli("models", "verify", "m").returncode == 0
    model.path_of("a.bin").write_bytes(b"aaab")  # same size, different bytes
    (model.path / "b.bin").unlink()
    (model.path / "planted.py").write_text("import os")
    proc = run_cli("models", "verify", "m")
    assert proc.returncode == 5
    assert "altered file: a.bin" in proc.stdout
    assert "missing file: b.bin" in proc.stdout
    assert "extra file not in the manifest: planted.py" in proc.stdout
    assert "error: model m:" in proc.stderr


def test_load_model_refuses_an_altered_pickle() -> None:
    import bento
    from bento.errors import IntegrityError

    saved = bento.models.save_model("obj", {"w": [1, 2, 3]}, signatures={"predict": {"batchable": True}})
    assert bento.models.get("obj").load_model() == {"w": [1, 2, 3]}
    assert saved.signatures == {"predict": {"batchable": True}}
    assert saved.__bento_model__ is True
    with open(saved.path_of("saved_model.pkl"), "ab") as f:
        f.write(b"trailing")
    with pytest.raises(IntegrityError, match="altered"):
        bento.models.get("obj").load_model()


def test_service_with_missing_model_names_it_and_service_records_present_model(tmp_path: Path, bento_home: Path) -> None:
    from bento.errors import NotFound
    from bento.core.loader import import_service

    (tmp_path / "service.py").write_text(textwrap.dedent(SERVICE))
    with pytest.raises(NotFound, match=f"model iris_sklearn:latest not found in {bento_home}"):
        import_service("service.py:Iris", tmp_path)
    proc = run_cli("serve", "service.py:Iris", "--port", "1", cwd=tmp_path, timeout=60)
    assert proc.returncode == 3 and "model iris_sklearn:latest not found" in proc.stderr


def test_delete_refuses_models_used_by_a_bento_without_force(bento_home: Path) -> None:
    from bento.store import open_store

    store = open_store()
    with store.models.create("iris") as m:
        m.path_of("f").write_bytes(b"1")
    with store.bentos.create("svc", version="v1", extra={"models": [{"tag": m.item.tag, "digest": m.item.digest}]}) as b:
        b.path_of("f").write_bytes(b"1")
    refused = run_cli("models", "delete", "iris", "-y")
    assert refused.returncode == 4 and "used by bento svc:v1" in refused.stderr
    assert run_cli("delete", "svc:v1", "-y").returncode == 0
    assert run_cli("models", "delete", "iris", "-y").returncode == 0
    assert json.loads(run_cli("models", "list", "-o", "json").stdout) == []


def test_bento_commands_in_process(tmp_path: Path, bento_home: Path) -> None:
    from bento.cli import cli
    from bento.store import open_store

    store = open_store()
    with store.bentos.create("svc", version="abc", extra={"service": "service:Svc", "models": []}) as b:
        b.path_of("src/service.py").write_text("x")
    runner = CliRunner()
    listed = runner.invoke(cli, ["list", "-o", "json"])
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["tag"] == "svc:abc"
    shown = runner.invoke(cli, ["get", "svc", "-o", "json"])
    assert json.loads(shown.output)["service"] == "service:Svc"
    exported = runner.invoke(cli, ["export", "svc:abc", str(tmp_path) + "/"])
    assert exported.exit_code == 0, exported.output
    url = (tmp_path / "remote").as_uri()
    assert runner.invoke(cli, ["push", "svc", url]).exit_code == 0
    assert (tmp_path / "remote" / "bentos" / "svc" / "abc.bento").is_file()
    env = {"BENTO_HOME": str(tmp_path / "h2")}
    pulled = runner.invoke(cli, ["pull", "svc", url], env=env)
    assert pulled.exit_code == 0 and "pulled" in pulled.output
    imported = runner.invoke(cli, ["import", str(tmp_path / "svc-abc.bento"), "-o", "json"], env={"BENTO_HOME": str(tmp_path / "h3")})
    assert json.loads(imported.output)["tag"] == "svc:abc"


def test_model_push_and_pull_through_the_cli(tmp_path: Path, bento_home: Path) -> None:
    from bento.cli import cli
    from bento.store import open_store

    with open_store().models.create("weights") as m:
        m.path_of("w.bin").write_bytes(b"\x01" * 2048)
    runner = CliRunner()
    url = (tmp_path / "remote").as_uri()
    pushed = runner.invoke(cli, ["models", "push", "weights", url])
    assert pushed.exit_code == 0, pushed.output
    assert "pushed to" in pushed.output
    other = {"BENTO_HOME": str(tmp_path / "other-home")}
    pulled = runner.invoke(cli, ["models", "pull", "weights", url], env=other)
    assert pulled.exit_code == 0 and f"model {m.item.tag} pulled" in pulled.output
    again = runner.invoke(cli, ["models", "pull", "weights", url], env=other)
    assert "already in the store (same content)" in again.output
    copy = open_store(tmp_path / "other-home").models.get("weights:latest")
    assert copy.digest == m.item.digest and copy.path_of("w.bin").read_bytes() == b"\x01" * 2048


def test_progress_bar_only_on_a_terminal(tmp_path: Path, bento_home: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    import bento

    with bento.models.create("big") as m:
        m.path_of("w.bin").write_bytes(os.urandom(4 << 20))
    plain = run_cli("models", "export", "big", str(tmp_path / "a.bentomodel"))
    assert plain.returncode == 0 and "exporting" not in plain.stderr and plain.stderr == ""
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "bento", "models", "export", "big", str(tmp_path / "b.bentomodel")],
                              stdout=subprocess.PIPE, stderr=slave, text=True, timeout=60)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        if slave != -1:
            os.close(slave)
    assert proc.returncode == 0
    shown = b"".join(chunks).decode(errors="replace")
    assert "exporting big" in shown and "100%" in shown
