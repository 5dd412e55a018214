"""The project reader (bento.core.project): bentofile.yaml/.yml, [tool.bento], [tool.bentoml.build], bento.yaml,
and errors naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bento.core.bentofile import BuildConfig
from bento.core.project import find_project, is_bento, read_bento_manifest, read_description, read_project
from bento.errors import InvalidConfig, NotFound
from utils import run_cli  # tests/utils.py (tests/ is on sys.path via its conftest)


def load_build_config(root: Path, bentofile: Path | None = None) -> tuple[BuildConfig, str]:
    project = read_project(root, bentofile)
    return project.config, project.where


def write(root: Path, name: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)
    return root


def test_bentofile_is_read_with_defaults(tmp_path: Path) -> None:
    root = write(tmp_path, "bentofile.yaml", 'service: "service:Echo"\npython:\n  packages: [numpy]\n')
    config, where = load_build_config(root)
    assert where == "bentofile.yaml"
    assert config.service == "service:Echo"
    assert config.python.packages == ["numpy"]
    assert config.python.lock_packages is True
    assert config.include == ["*"]


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    root = write(tmp_path, "bentofile.yaml", 'service: "s:A"\npython:\n  pakages: [numpy]\n')
    with pytest.raises(InvalidConfig) as err:
        load_build_config(root)
    assert "unknown key `python.pakages` in bentofile.yaml" in str(err.value)
    assert "did you mean `python.packages`?" in str(err.value)


def test_wrong_type_names_the_key_path(tmp_path: Path) -> None:
    root = write(tmp_path, "bentofile.yaml", 'service: "s:A"\ndocker:\n  system_packages: git\n')
    with pytest.raises(InvalidConfig) as err:
        load_build_config(root)
    assert "`docker.system_packages` in bentofile.yaml" in str(err.value)
    assert "valid list" in str(err.value)


def test_python_version_must_be_3_x(tmp_path: Path) -> None:
    root = write(tmp_path, "bentofile.yaml", 'service: "s:A"\ndocker:\n  python_version: "311"\n')
    with pytest.raises(InvalidConfig, match=r'docker.python_version.*"3.X"'):
        load_build_config(root)
    root = write(tmp_path / "b", "bentofile.yaml", 'service: "s:A"\ndocker:\n  python_version: 3.12\n')
    assert load_build_config(root)[0].target_python() == "3.12"


def test_missing_service_is_named(tmp_path: Path) -> None:
    root = write(tmp_path, "bentofile.yaml", "include: ['*.py']\n")
    with pytest.raises(InvalidConfig, match="`service` in bentofile.yaml: Field required"):
        load_build_config(root)


def test_invalid_yaml_gives_the_line(tmp_path: Path) -> None:
    root = write(tmp_path, "bentofile.yaml", 'service: "s:A"\ninclude: [a\n')
    with pytest.raises(InvalidConfig, match=r"not valid YAML at line \d+"):
        load_build_config(root)


def test_pyproject_tool_bento(tmp_path: Path) -> None:
    root = write(tmp_path, "pyproject.toml", '[tool.bento]\nservice = "service:Echo"\nlabels = {team = "ml"}\n')
    config, where = load_build_config(root)
    assert where == "pyproject.toml [tool.bento]"
    assert config.labels == {"team": "ml"}


def test_pyproject_bentoml_build_table(tmp_path: Path) -> None:
    root = write(tmp_path, "pyproject.toml", '[tool.bentoml.build]\nservice = "service:Echo"\ninclde = ["*.py"]\n')
    with pytest.raises(InvalidConfig) as err:
        load_build_config(root)
    assert "unknown key `inclde` in pyproject.toml [tool.bentoml.build]; did you mean `include`?" in str(err.value)


def test_no_config_says_how_to_write_one(tmp_path: Path) -> None:
    tmp_path.joinpath("pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(InvalidConfig, match="no bentofile.yaml") as err:
        load_build_config(tmp_path)
    assert 'service: "service:MyService"' in str(err.value)


def test_explicit_build_file(tmp_path: Path) -> None:
    write(tmp_path, "other.yaml", 'service: "service:Other"\n')
    config, _ = load_build_config(tmp_path, Path("other.yaml"))
    assert config.service == "service:Other"
    with pytest.raises(InvalidConfig, match="does not exist"):
        load_build_config(tmp_path, Path("missing.yaml"))


def test_description_from_file(tmp_path: Path) -> None:
    write(tmp_path, "bentofile.yaml", 'service: "s:A"\ndescription: "file:./DESC.md"\n')
    (tmp_path / "DESC.md").write_text("# Hello\n")
    config, _ = load_build_config(tmp_path)
    assert read_description(read_project(tmp_path)) == "# Hello\n"


def test_cli_reports_config_error_with_exit_code_2(tmp_path: Path) -> None:
    write(tmp_path, "bentofile.yaml", 'service: "service:Echo"\ndocker:\n  base_imag: debian\n')
    proc = run_cli("build", str(tmp_path))
    assert proc.returncode == 2
    assert "error: unknown key `docker.base_imag` in bentofile.yaml; did you mean `docker.base_image`?" in proc.stderr


def test_bentofile_yml_is_found_and_yaml_comes_first(tmp_path: Path) -> None:
    write(tmp_path, "bentofile.yml", 'service: "service:Yml"\n')
    project = read_project(tmp_path)
    assert (project.where, project.service, project.source) == ("bentofile.yml", "service:Yml",
                                                                tmp_path / "bentofile.yml")
    write(tmp_path, "bentofile.yaml", 'service: "service:Yaml"\n')
    assert read_project(tmp_path).service == "service:Yaml"


def test_pyproject_without_a_bento_table_is_no_project(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n\n[tool.bentoml]\nother = 1\n')
    assert find_project(tmp_path) is None
    write(tmp_path, "pyproject.toml", '[tool.bentoml.build]\nservice = "service:Echo"\n')
    found = find_project(tmp_path)
    assert found is not None and found.where == "pyproject.toml [tool.bentoml.build]"
    write(tmp_path, "pyproject.toml", '[tool.bento]\nservice = "a:A"\n[tool.bentoml.build]\nservice = "b:B"\n')
    assert read_project(tmp_path).service == "a:A"  # our own table wins


def test_broken_toml_and_non_mapping_tables_are_named(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.bento\n")
    with pytest.raises(InvalidConfig, match="pyproject.toml is not valid TOML"):
        read_project(tmp_path)
    write(tmp_path, "pyproject.toml", '[tool]\nbento = "service:Echo"\n')
    with pytest.raises(InvalidConfig, match=r"pyproject.toml \[tool.bento\] must be a mapping"):
        read_project(tmp_path)


MANIFEST = """\
name: echo
version: v1
digest: abc
service: "service:Echo"
envs: [{name: PREFIX, value: "x:"}, {name: UNSET}]
models: [{tag: "iris:v3", digest: "d1"}]
"""


def test_bento_manifest_is_read(tmp_path: Path) -> None:
    write(tmp_path, "bento.yaml", MANIFEST)
    assert is_bento(tmp_path)
    manifest = read_bento_manifest(tmp_path)
    assert manifest.tag == "echo:v1" and manifest.digest == "abc"
    assert manifest.service == "service:Echo"
    assert manifest.envs == {"PREFIX": "x:"}  # an env without value is not a default
    assert manifest.models == (("iris:v3", "d1"),)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (MANIFEST.replace("name: echo\n", ""), "lacks `name`"),
        (MANIFEST.replace("models: [{tag", "models: [{tog"), "`models[0]`"),
        (MANIFEST.replace("envs: [", "envs: 5 #"), "`envs`"),
        (MANIFEST.replace('service: "service:Echo"', "service: [1]"), "`service`"),
        ("name: [unclosed\n", "not valid YAML at line"),
        ("- a list\n", "not a mapping"),
    ],
)
def test_a_malformed_bento_manifest_names_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    write(tmp_path, "bento.yaml", text)
    with pytest.raises(InvalidConfig, match="bento.yaml") as err:
        read_bento_manifest(tmp_path)
    assert needle in str(err.value)


def test_a_directory_without_manifest_is_not_a_bento(tmp_path: Path) -> None:
    assert not is_bento(tmp_path)
    with pytest.raises(NotFound, match="bento build"):
        read_bento_manifest(tmp_path)
