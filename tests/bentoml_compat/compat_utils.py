"""Helpers and fixtures of the BentoML-compatibility tests. Not a conftest.py: other folders' tests do
`from conftest import ...`, which a third conftest module would shadow. Test modules import the fixtures.

``user_venv``: a virtualenv with Bento installed the way a user installs it (a wheel of this checkout, not
editable), the `bentoml` command distribution, numpy and scikit-learn; made once per session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_VENVS: dict[str, Path] = {}


def uv() -> str:
    return shutil.which("uv") or str(Path(sys.executable).with_name("uv"))


@pytest.fixture(scope="session")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install bento bento-bentoml-command numpy scikit-learn` from this checkout (about 5 s, warm uv cache)."""
    if "user" not in _VENVS:
        venv = tmp_path_factory.mktemp("user-venv") / "venv"
        subprocess.run([uv(), "venv", "-q", str(venv), "--python", f"{sys.version_info[0]}.{sys.version_info[1]}"],
                       check=True, timeout=120)
        subprocess.run([uv(), "pip", "install", "-q", str(ROOT), str(ROOT / "packaging" / "bentoml-command"),
                        "numpy", "scikit-learn"], check=True, timeout=600, env={**os.environ, "VIRTUAL_ENV": str(venv)})
        _VENVS["user"] = venv
    return _VENVS["user"]


def run_in(venv: Path, *args: str, cwd: Path, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a program of the virtualenv's bin/ (``python``, ``bentoml``) the way a user's shell would."""
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "VIRTUAL_ENV": str(venv), **(env or {})})
