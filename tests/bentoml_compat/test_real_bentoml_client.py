"""BentoML's own SyncHTTPClient / AsyncHTTPClient (real BentoML 1.4 from the package index, in a virtualenv of
its own) call a Bento server: /schema.json, /readyz, JSON and root inputs, files, bytes, arrays, streams."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import compat_utils
from utils import serve  # tests/utils.py

HERE = Path(__file__).resolve().parent / "clients"


@pytest.fixture(scope="session")
def real_bentoml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with the real BentoML 1.4 (about 5 s from a warm uv cache, a minute or two cold)."""
    uv = compat_utils.uv()
    venv = tmp_path_factory.mktemp("real-bentoml") / "venv"
    subprocess.run([uv, "venv", "-q", str(venv), "--python", f"{sys.version_info[0]}.{sys.version_info[1]}"],
                   check=True, timeout=120)
    subprocess.run([uv, "pip", "install", "-q", "bentoml>=1.4,<1.5"], check=True, timeout=900,
                   env={**os.environ, "VIRTUAL_ENV": str(venv)})
    return venv


@pytest.mark.slow
def test_bentoml_s_own_clients_call_a_bento_server(real_bentoml: Path, tmp_path: Path) -> None:
    project = tmp_path / "clients"
    shutil.copytree(HERE, project)
    document = tmp_path / "document.txt"
    document.write_bytes(b"12345")
    with serve(["service:Compat"], cwd=project) as server:
        result = subprocess.run([str(real_bentoml / "bin" / "python"), "client.py", server.url, str(document)],
                                cwd=project, capture_output=True, text=True, timeout=120,
                                env={**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml-home"),
                                     "BENTOML_DO_NOT_TRACK": "True"})
        assert result.returncode == 0, result.stderr[-3000:] + server.output()[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "ready": True,
        "summarize": "the quick",
        "summarize_positional": "one two three",
        "shout": "HELLO",
        "total": 7.0,
        "describe": {"label": "v", "n": 3, "max": 5.0},
        "double": [[2, 4], [6, 8]],
        "size": 5,
        "raw": "cba",
        "count": "0;1;2;3;",
        "async_summarize": "a b c",
        "async_stream": "a0;a1;a2;",
    }
