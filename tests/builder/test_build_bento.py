"""What `bento build` produces: the layout, the manifest, the locked environment, and a version that is a
content hash (same project -> same tag; any change to a file, requirement or model -> a new one)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import MakeProject
from utils import run_cli, serve  # tests/utils.py (tests/ is on sys.path via its conftest)

import bento
from bento.builder.build import build_bento
from bento.errors import BuildError, NotFound

MODEL_SERVICE = '''
import bento


@bento.service(traffic={"timeout": 5})
class Greeter:
    model = bento.models.get("greeting:latest")

    @bento.api
    def greet(self, name: str) -> str:
        return self.model.path_of("greeting.txt").read_text() + name
'''


def save_greeting(text: str) -> str:
    with bento.models.create("greeting") as m:
        m.path_of("greeting.txt").write_text(text)
    return str(m.tag)


def test_layout_and_manifest(make_project: MakeProject) -> None:
    root = make_project(
        'service: "service:Echo"\nlabels: {team: ml}\npython:\n  packages: ["six"]\n',
        files={"helpers.py": "X = 1\n"},
    )
    proc = run_cli("build", str(root), "-o", "json", "--label", "stage=dev")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["existed"] is False
    path = Path(out["path"])
    files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    wheel = [f for f in files if f.startswith("env/python/local/")]
    assert wheel == ["env/python/local/bento_serve-0.1.0-py3-none-any.whl"]  # running from a checkout
    assert set(files) - set(wheel) == {
        "bento.yaml", "README.md", "apis/openapi.yaml", "env/docker/Dockerfile", "env/docker/entrypoint.sh",
        "env/python/requirements.lock.txt", "src/bentofile.yaml", "src/helpers.py", "src/service.py",
    }
    info = yaml.safe_load((path / "bento.yaml").read_text())
    assert out["tag"] == f"echo:{info['version']}"
    assert info["service"] == "service:Echo"
    assert info["labels"] == {"team": "ml", "stage": "dev"}
    assert info["bento_version"] == bento.__version__
    assert info["models"] == []
    (svc,) = info["services"]
    assert svc["name"] == "Echo"
    (api,) = svc["apis"]
    assert api["route"] == "/echo"
    assert api["input"]["properties"]["text"]["type"] == "string"
    assert info["build"]["python"]["packages"] == ["six"]
    assert info["build"]["docker"]["base_image"].startswith("python:3.")
    lock = (path / "env/python/requirements.lock.txt").read_text()
    assert "six==" in lock and "pydantic==" in lock and "--hash=sha256:" in lock
    assert "openapi" in yaml.safe_load((path / "apis/openapi.yaml").read_text())


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("bentofile.yml", 'service: "service:Echo"\nlabels: {file: yml}\n', "bentofile.yml"),
        ("pyproject.toml", '[project]\nname = "p"\n\n[tool.bentoml.build]\nservice = "service:Echo"\n'
                           'labels = {file = "bentoml-table"}\n', "pyproject.toml [tool.bentoml.build]"),
    ],
)
def test_the_other_build_files_build_and_the_bento_serves(make_project: MakeProject, tmp_path: Path, name: str,
                                                          text: str, where: str) -> None:
    root = make_project(None, files={name: text})
    proc = run_cli("build", str(root), "-o", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    info = yaml.safe_load((Path(out["path"]) / "bento.yaml").read_text())
    assert info["service"] == "service:Echo"
    assert info["labels"]["file"] in {"yml", "bentoml-table"}
    assert (Path(out["path"]) / "src" / name).is_file()
    with serve([out["tag"]], cwd=tmp_path) as server:  # the built bento, through its bento.yaml
        assert httpx.post(server.url + "/echo", json={"text": where}).text == where


def test_same_project_same_tag_and_identical_export(make_project: MakeProject, tmp_path: Path) -> None:
    root = make_project()
    first = run_cli("build", str(root), "-o", "tag")
    second = run_cli("build", str(root))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    tag = first.stdout.strip()
    assert f"Bento {tag} already exists (same content); nothing changed." in second.stdout
    bento.bentos.export_bento(tag, tmp_path / "a.bento")
    bento.bentos.export_bento(tag, tmp_path / "b.bento")
    assert (tmp_path / "a.bento").read_bytes() == (tmp_path / "b.bento").read_bytes()


def test_two_machines_build_byte_identical_bentos(make_project: MakeProject, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Two stores (two machines, two checkouts of the project) give the same tag and the same archive."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    archives = []
    for machine in ("one", "two"):
        root = make_project(name=f"checkout-{machine}")
        monkeypatch.setenv("BENTO_HOME", str(tmp_path / f"home-{machine}"))
        tag = build_bento(root).tag
        bento.bentos.export_bento(tag, tmp_path / f"{machine}.bento")
        archives.append((tag, (tmp_path / f"{machine}.bento").read_bytes()))
    assert archives[0] == archives[1]


def test_source_change_gives_a_new_version(make_project: MakeProject) -> None:
    root = make_project()
    before = build_bento(root).tag
    (root / "service.py").write_text((root / "service.py").read_text() + "\n# a comment\n")
    after = build_bento(root)
    assert after.tag != before and not after.existed
    assert len(bento.bentos.list("echo")) == 2


def test_requirement_change_gives_a_new_version(make_project: MakeProject) -> None:
    root = make_project('service: "service:Echo"\npython:\n  packages: ["six"]\n')
    before = build_bento(root).tag
    (root / "bentofile.yaml").write_text('service: "service:Echo"\npython:\n  packages: ["six<1.17"]\n')
    after = build_bento(root)
    assert after.tag != before
    assert "six==1.16.0" in (after.path / "env/python/requirements.lock.txt").read_text()


def test_models_are_referenced_with_digest_and_content_changes_the_version(make_project: MakeProject) -> None:
    first_model = save_greeting("Hello, ")
    root = make_project('service: "service:Greeter"\n', files={"service.py": MODEL_SERVICE})
    built = build_bento(root)
    info = yaml.safe_load((built.path / "bento.yaml").read_text())
    model = bento.models.get(first_model)
    assert info["models"] == [{"tag": first_model, "digest": model.digest}]
    assert not (built.path / "models").exists()  # models stay in the store
    assert "COPY --chown=bento:bento models-store/ /home/bento/store/" in (
        built.path / "env/docker/Dockerfile").read_text()
    assert build_bento(root).tag == built.tag
    save_greeting("Bonjour, ")  # greeting:latest now has other content
    rebuilt = build_bento(root)
    assert rebuilt.tag != built.tag


def test_missing_model_fails_with_the_store_message(make_project: MakeProject) -> None:
    root = make_project('service: "service:Greeter"\n', files={"service.py": MODEL_SERVICE})
    with pytest.raises(NotFound, match="model greeting:latest not found in"):
        build_bento(root)
    proc = run_cli("build", str(root))
    assert proc.returncode == 3
    assert "error: model greeting:latest not found in" in proc.stderr


def test_extra_models_from_the_bentofile(make_project: MakeProject) -> None:
    tag = save_greeting("Hi ")
    root = make_project('service: "service:Echo"\nmodels: ["greeting:latest"]\n')
    info = yaml.safe_load((build_bento(root).path / "bento.yaml").read_text())
    assert [m["tag"] for m in info["models"]] == [tag]


def test_resolution_failure_shows_uv_message(make_project: MakeProject) -> None:
    root = make_project('service: "service:Echo"\npython:\n  packages: ["six==0.0.0.404"]\n')
    proc = run_cli("build", str(root))
    assert proc.returncode == 7
    assert "could not resolve the Python requirements for Python 3." in proc.stderr
    assert "six==0.0.0.404" in proc.stderr  # uv's own explanation follows


def test_service_import_error_fails_the_build(make_project: MakeProject) -> None:
    root = make_project(files={"service.py": "import bento\nraise RuntimeError('boom at import')\n"})
    with pytest.raises(BuildError, match="RuntimeError: boom at import"):
        build_bento(root)


@pytest.mark.slow
def test_vendored_bento_holds_the_locked_wheels(make_project: MakeProject) -> None:
    root = make_project('service: "service:Echo"\npython:\n  packages: ["six"]\n')
    built = build_bento(root, vendor_wheels=True)
    wheels = sorted(p.name for p in (built.path / "env/python/wheels").iterdir())
    assert any(w.startswith("six-") for w in wheels)
    assert any(w.startswith("pydantic_core-") and "manylinux" in w for w in wheels)
    locked = [ln.split("==")[0] for ln in (built.path / "env/python/requirements.lock.txt").read_text().splitlines()
              if "==" in ln]
    assert len(wheels) == len(locked)
    assert "--no-index --find-links /opt/bento/python/wheels" in (built.path / "env/docker/Dockerfile").read_text()


@pytest.mark.slow
def test_vendoring_a_package_without_wheel_names_it(make_project: MakeProject) -> None:
    # antlr4-python3-runtime 4.9.3 is published as a source distribution only.
    root = make_project('service: "service:Echo"\npython:\n  packages: ["antlr4-python3-runtime==4.9.3"]\n'
                        '  vendor: true\n')
    with pytest.raises(BuildError, match="no wheel of antlr4-python3-runtime"):
        build_bento(root)


def test_project_moved_away_bento_still_complete(make_project: MakeProject, tmp_path: Path) -> None:
    root = make_project()
    built = build_bento(root)
    shutil.rmtree(root)
    assert (built.path / "src/service.py").is_file()
    assert bento.bentos.get("echo:latest").tag == built.tag


def test_cli_name_version_and_label_options(make_project: MakeProject) -> None:
    root = make_project()
    proc = run_cli("build", str(root), "--name", "custom", "--version", "v1", "-o", "tag")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "custom:v1"
    (root / "service.py").write_text((root / "service.py").read_text() + "# changed\n")
    clash = run_cli("build", str(root), "--name", "custom", "--version", "v1")
    assert clash.returncode == 4  # an explicit version already taken by other content
    assert "already exists" in clash.stderr
    bad = run_cli("build", str(root), "--label", "no-equals-sign")
    assert bad.returncode == 2
    assert "write labels as KEY=VALUE" in bad.stderr


@pytest.mark.slow
def test_bento_from_index_is_explicit_and_resolves_our_distribution(make_project: MakeProject,
                                                                   tmp_path: Path) -> None:
    """`python.bento_from_index: true` locks bento-serve==<running version> from the configured index (here
    a find-links folder holding our wheel) and bundles no wheel of our own."""
    from bento.builder import ownwheel

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    own = ownwheel.build_own_wheel()
    (wheels / own.filename).write_bytes(own.data)
    root = make_project(f'service: "service:Echo"\npython:\n  bento_from_index: true\n  find_links: ["{wheels}"]\n')
    built = build_bento(root)
    lock = (built.path / "env/python/requirements.lock.txt").read_text()
    assert f"bento-serve=={bento.__version__}" in lock
    assert not (built.path / "env/python/local").exists()
    # By default the running wheel is bundled and the index is never asked for our package.
    default = build_bento(make_project(f'service: "service:Echo"\npython:\n  find_links: ["{wheels}"]\n',
                                       name="default"))
    assert "bento-serve" not in (default.path / "env/python/requirements.lock.txt").read_text()
    assert [p.name for p in (default.path / "env/python/local").iterdir()] == [own.filename]
