"""A BentoML-style project (tests/bentoml_compat/project: train.py, service.py, bentofile.yaml) run unchanged
with `python train.py` and the `bentoml` command, in a virtualenv where Bento is installed as a user installs it."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from compat_utils import run_in, user_venv  # noqa: F401 (a fixture)
from utils import serve  # tests/utils.py

PROJECT = Path(__file__).resolve().parent / "project"
SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]


@pytest.fixture
def project(user_venv: Path, tmp_path: Path) -> Path:
    root = tmp_path / "iris"
    shutil.copytree(PROJECT, root)
    trained = run_in(user_venv, "python", "train.py", cwd=root)
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.startswith("Model saved: iris_sklearn:"), trained.stdout
    return root


@pytest.mark.slow
def test_bentoml_serve_with_the_flags_of_the_wild(user_venv: Path, project: Path, tmp_path: Path) -> None:
    bentoml = [str(user_venv / "bin" / "bentoml"), "serve"]
    args = ["service:IrisClassifier", "--working-dir", str(project), "--production", "--timeout", "20",
            "--backlog", "64", "--api-workers", "1", "--arg", "greeting=hi", "--arg", "top_k=3",
            "--env", "EXTRA_FLAG=on"]
    with serve(args, cwd=tmp_path, command=bentoml) as server:
        url = server.url
        assert httpx.post(url + "/classify", json={"input_series": [SETOSA, VIRGINICA]}).json() == [0, 2]
        assert httpx.post(url + "/name_of", json={"features": SETOSA}).text == "setosa"
        negative = httpx.post(url + "/name_of", json={"features": [-1.0, 3.5, 1.4, 0.2]})
        assert negative.status_code == 400 and "never negative" in negative.json()["message"]
        assert httpx.post(url + "/name_of", json={"features": [1.0, 2.0]}).status_code == 400  # bentoml.Field
        about = httpx.post(url + "/about", json={}).json()
        model = about.pop("model")
        assert model.startswith("iris_sklearn:") and about.pop("tag") == model
        assert about == {"worker_index": 1, "service_name": "IrisClassifier", "bento_name": None, "is_current": True,
                         "greeting": "hi",
                         "top_k": 3, "mode": "demo", "extra": "on"}
        assert "bento_request_duration_seconds_bucket{le=\"0.01\"" in httpx.get(url + "/metrics").text
    log = server.output()
    assert "`tracing` in @service config of IrisClassifier is accepted (BentoML) and has no effect here" in log
    assert log.count("`tracing` in @service config") == 1


@pytest.mark.slow
def test_bentoml_build_names_the_bento_in_snake_case_records_args_and_serve_http_serves_it(user_venv: Path, project: Path,
                                                                               tmp_path: Path) -> None:
    # Built with the checkout's interpreter: a bento embeds Bento's wheel, which only a checkout can build
    # (a wheel-installed Bento would be locked as `bento==<version>` from the package index).
    built = subprocess.run([sys.executable, "-m", "bentoml", "build", "-o", "tag", "--arg", "greeting=built"],
                           cwd=project, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    tag = built.stdout.strip().splitlines()[-1]
    assert tag.startswith("iris_classifier:")
    with serve(["iris_classifier:latest"], cwd=tmp_path, command=[str(user_venv / "bin" / "bentoml"), "serve-http"]) \
            as server:
        assert httpx.post(server.url + "/name_of", json={"features": VIRGINICA}).text == "virginica"
        assert httpx.get(server.url + "/metadata").json()["bento"] == tag
        about = httpx.post(server.url + "/about", json={}).json()
        assert about["greeting"] == "built" and about["top_k"] == 1  # the build's --arg travels with the bento
        assert about["bento_name"] == "iris_classifier"  # bentoml.server_context knows the bento it serves
    info = run_in(user_venv, "bentoml", "env", "-o", "json", cwd=tmp_path)
    assert info.returncode == 0 and json.loads(info.stdout)["bentoml"] == "alias of bento", info.stderr


@pytest.mark.slow
def test_serve_over_tls_with_the_ssl_flags(user_venv: Path, project: Path, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    args = ["service:IrisClassifier", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    trust = ssl.create_default_context(cafile=str(cert))
    with serve(args, cwd=project, command=[str(user_venv / "bin" / "bentoml"), "serve"], wait_ready=False) as server:
        https = server.url.replace("http://", "https://")
        for _ in range(300):
            try:
                if httpx.get(https + "/readyz", verify=trust, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.proc.poll() is not None:
                raise AssertionError(server.output())
            time.sleep(0.1)
        answer = httpx.post(https + "/name_of", json={"features": SETOSA}, verify=trust)
        assert answer.text == "setosa"
        with pytest.raises(httpx.HTTPError):
            httpx.get(server.url + "/readyz", timeout=2)  # plain HTTP is not served on the TLS port
    assert "serving IrisClassifier on https://" in server.output()
