"""Helpers of the BentoML-compatibility tests (a module of its own: `conftest` names collide across folders)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def run_in(venv: Path, *args: str, cwd: Path, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a program of the virtualenv's bin/ (``python``, ``bentoml``) the way a user's shell would."""
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "VIRTUAL_ENV": str(venv), **(env or {})})
