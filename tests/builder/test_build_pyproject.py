"""pyproject.toml ``[tool.bentoml.build]``: ``[project]`` name and dependencies are used as BentoML uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import MakeProject
from utils import run_cli  # tests/utils.py

from bento.builder.build import build_bento
from bento.core.project import read_project
from bento.errors import InvalidConfig

PYPROJECT = '''
[project]
name = "echo-app"
version = "0.3.0"
dependencies = ["six==1.16.0"]

[tool.bentoml.build]
service = "service:Echo"
include = ["*.py"]
python = { packages = ["pyyaml"] }
'''


def test_project_dependencies_reach_the_lock_and_name_the_bento(make_project: MakeProject) -> None:
    project = make_project(None, {"pyproject.toml": PYPROJECT})
    config = read_project(project).config
    assert config.name == "echo-app"
    assert config.python.packages == ["six==1.16.0", "pyyaml"]
    built = build_bento(project)
    assert built.tag.startswith("echo-app:")
    lock = (built.path / "env" / "python" / "requirements.lock.txt").read_text()
    assert "six==1.16.0" in lock and "pyyaml==" in lock.lower()


def test_serve_reads_the_same_table(make_project: MakeProject, tmp_path: Path) -> None:
    project = make_project(None, {"pyproject.toml": PYPROJECT.replace("service:Echo", "service:Nope")})
    result = run_cli("serve", ".", "--port", "1", cwd=project)
    assert result.returncode != 0 and "Nope" in result.stderr  # it found the table and its service


def test_bad_dependencies_are_named(make_project: MakeProject) -> None:
    project = make_project(None, {"pyproject.toml": PYPROJECT.replace('["six==1.16.0"]', '"six"')})
    with pytest.raises(InvalidConfig, match=r"\[project\] dependencies in pyproject.toml"):
        read_project(project)
