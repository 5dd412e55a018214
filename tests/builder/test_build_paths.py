"""`bento build` reads nothing outside the project: every path is resolved (symlinks too) and checked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import MakeProject

from bento.builder.build import build_bento
from bento.core.errors import UnsafePath
from bento.store import open_store
from utils import run_cli

SECRET = "outside-the-project secret\n"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def assert_no_bento() -> None:
    assert open_store().bentos.list() == []


def test_a_symlinked_file_pointing_outside_stops_the_build(make_project: MakeProject, secret: Path) -> None:
    root = make_project()
    os.symlink(secret, root / "notes.txt")
    with pytest.raises(UnsafePath, match=rf"`include` selects notes.txt, a symbolic link to {secret}, outside the project"):
        build_bento(root)
    assert_no_bento()

    cli = run_cli("build", str(root))
    assert cli.returncode == UnsafePath.exit_code, cli.stderr
    assert cli.stderr.splitlines()[-1].startswith("error: `include` selects notes.txt") and "Traceback" not in cli.stderr
    assert_no_bento()


def test_a_symlinked_ignore_file_pointing_outside_stops_the_build(make_project: MakeProject, secret: Path) -> None:
    root = make_project()
    os.symlink(secret, root / ".bentoignore")
    with pytest.raises(UnsafePath, match=rf"the ignore file .bentoignore, a symbolic link to {secret}"):
        build_bento(root)


@pytest.mark.parametrize("case", ["description", "setup_script", "requirements_txt", "wheels"])
def test_paths_in_the_build_config_stay_inside_the_project(case: str, make_project: MakeProject, secret: Path) -> None:
    outside = os.path.relpath(secret, secret.parent / "project")  # ../secret.txt
    config = {
        "description": (f'description: "file:{outside}"\n', "description", outside),
        "setup_script": (f"docker:\n  setup_script: {outside}\n", "docker.setup_script", outside),
        "requirements_txt": (f"python:\n  requirements_txt: {secret}\n", "python.requirements_txt", str(secret)),
        "wheels": ("python:\n  wheels: [../evil-1.0-py3-none-any.whl]\n", "python.wheels", "../evil-1.0"),
    }
    yaml_text, key, shown = config[case]
    (secret.parent / "evil-1.0-py3-none-any.whl").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    root = make_project(bentofile='service: "service:Echo"\n' + yaml_text)
    with pytest.raises(UnsafePath) as caught:
        build_bento(root)
    assert f"`{key}`" in str(caught.value) and shown in str(caught.value)
    assert_no_bento()


def test_a_config_path_through_a_symlinked_folder_is_resolved(make_project: MakeProject, secret: Path) -> None:
    root = make_project(bentofile='service: "service:Echo"\ndescription: "file:docs/secret.txt"\n')
    os.symlink(secret.parent, root / "docs")
    with pytest.raises(UnsafePath, match=rf"`description` names docs/secret.txt, which is outside the project "
                                         rf"{root} \(through a symbolic link, to {secret}\)"):
        build_bento(root)


def test_links_and_paths_inside_the_project_still_work(make_project: MakeProject) -> None:
    root = make_project(bentofile='service: "service:Echo"\ndescription: "file:README.md"\n',
                        files={"README.md": "# Echo\n", "data/table.csv": "a,b\n"})
    os.symlink("data/table.csv", root / "table.csv")
    result = build_bento(root)
    assert (result.path / "src" / "table.csv").read_text() == "a,b\n"
    assert (result.path / "README.md").read_text() == "# Echo\n"
