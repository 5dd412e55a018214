"""Fixtures for BentoML-style code run unchanged: a fresh virtualenv with Bento installed the way a user
installs it (a wheel of this checkout, not editable), plus the `bentoml` command distribution."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    return found


@pytest.fixture(scope="session")
def user_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with `pip install bento bento-bentoml-command numpy scikit-learn`, Bento from this
    checkout (about 5 s with a warm uv cache)."""
    venv = tmp_path_factory.mktemp("user-venv") / "venv"
    subprocess.run([_uv(), "venv", "-q", str(venv), "--python", f"{sys.version_info[0]}.{sys.version_info[1]}"],
                   check=True, timeout=120)
    subprocess.run([_uv(), "pip", "install", "-q", str(ROOT), str(ROOT / "packaging" / "bentoml-command"),
                    "numpy", "scikit-learn"],
                   check=True, timeout=600, env={**os.environ, "VIRTUAL_ENV": str(venv)})
    return venv
