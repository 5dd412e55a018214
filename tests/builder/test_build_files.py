"""Which project files a bento holds: include/exclude, .bentoignore, always-excluded folders, large files."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import MakeProject

from bento.builder.build import build_bento
from bento.builder.files import select_files


def touch(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)


def test_include_and_exclude_are_gitignore_patterns(tmp_path: Path) -> None:
    touch(tmp_path, "service.py", "pkg/util.py", "pkg/data.csv", "notes.txt", "tests/test_x.py")
    selected = select_files(tmp_path, include=["*.py", "*.csv"], exclude=["tests/", "*.csv"])
    assert sorted(selected.files) == ["pkg/util.py", "service.py"]


def test_bentoignore_applies_below_its_directory(tmp_path: Path) -> None:
    touch(tmp_path, "a.py", "secret.env", "sub/b.py", "sub/generated/c.py", "other/generated/d.py")
    (tmp_path / ".bentoignore").write_text("*.env\n")
    (tmp_path / "sub" / ".bentoignore").write_text("generated/\n")
    selected = select_files(tmp_path, include=["*"], exclude=[])
    assert sorted(selected.files) == ["a.py", "other/generated/d.py", "sub/b.py"]


def test_version_control_caches_and_virtualenvs_are_always_out(tmp_path: Path) -> None:
    touch(tmp_path, "app.py", ".git/config", "__pycache__/app.cpython-311.pyc", ".venv/lib/x.py",
          "venv/bin/activate", "env-under-any-name/lib/site.py", "env-under-any-name/pyvenv.cfg",
          "pkg/__pycache__/m.pyc", "pkg/m.py", ".mypy_cache/x.json")
    selected = select_files(tmp_path, include=["*"], exclude=[])
    assert sorted(selected.files) == ["app.py", "pkg/m.py"]


def test_files_over_10_mib_are_reported(tmp_path: Path) -> None:
    touch(tmp_path, "small.py")
    with open(tmp_path / "weights.bin", "wb") as fh:
        fh.truncate(11 * 1024 * 1024)  # sparse: cheap to create
    selected = select_files(tmp_path, include=["*"], exclude=[])
    assert selected.large == [("weights.bin", 11 * 1024 * 1024)]


def test_build_prunes_a_big_virtualenv(make_project: MakeProject) -> None:
    root = make_project(files={"helpers/text.py": "X = 1\n"})
    venv = root / ".venv"
    for i in range(200):
        touch(venv, f"lib/python3.11/site-packages/pkg{i}/__init__.py")
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    # A FIFO cannot be stored; building succeeds only because the virtualenv is never selected.
    os.mkfifo(venv / "lib" / "pipe")
    result = build_bento(root)
    src = sorted(p.relative_to(result.path / "src").as_posix() for p in (result.path / "src").rglob("*")
                 if p.is_file())
    assert src == ["bentofile.yaml", "helpers/text.py", "service.py"]


def test_build_warns_about_large_files(make_project: MakeProject) -> None:
    root = make_project()
    with open(root / "big.bin", "wb") as fh:
        fh.truncate(11 * 1024 * 1024)
    result = build_bento(root)
    assert len(result.warnings) == 1
    assert "big.bin is 11.0 MiB" in result.warnings[0]


def test_excluding_the_service_file_fails_clearly(make_project: MakeProject) -> None:
    import pytest

    from bento.errors import BuildError

    root = make_project('service: "service:Echo"\nexclude: ["service.py"]\n')
    with pytest.raises(BuildError, match="service.py defines the service Echo but is not selected"):
        build_bento(root)
