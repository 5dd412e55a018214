"""``@service(image=bento.images.Image(...))``: the same bento as the equivalent bentofile sections."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bento.builder.build import build_bento
from bento.errors import InvalidConfig, UnsafePath

from conftest import MakeProject

PY = f"{sys.version_info.major}.{sys.version_info.minor}"

IMAGE_SERVICE = f'''
import bentoml
from bentoml.images import Image

image = (Image(python_version="{PY}")
         .system_packages("curl")
         .python_packages("six==1.16.0")
         .run("echo built-by-image > /etc/bento-image-marker")
         .run_script("setup.sh"))

with bentoml.importing():
    import a_package_only_the_image_has  # noqa: F401

@bentoml.service(image=image)
class Echo:
    @bentoml.api
    def echo(self, text: str) -> str:
        return text
'''

PLAIN_SERVICE = IMAGE_SERVICE.replace("@bentoml.service(image=image)", "@bentoml.service")

BENTOFILE_EQUIVALENT = f'''
service: "service:Echo"
python:
  packages: ["six==1.16.0"]
docker:
  python_version: "{PY}"
  system_packages: [curl]
  setup_script: generated_setup.sh
'''


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_image_builds_like_the_equivalent_bentofile(make_project: MakeProject) -> None:
    setup = "echo from-script > /etc/bento-script-marker\n"
    with_image = make_project('service: "service:Echo"\n', {"service.py": IMAGE_SERVICE, "setup.sh": setup},
                              name="image")
    first = build_bento(with_image)
    again = build_bento(with_image)
    assert again.tag == first.tag and again.existed  # reproducible: same inputs, same version
    files = _files(first.path)
    dockerfile = files["env/docker/Dockerfile"].decode()
    assert "curl" in dockerfile and "setup_script" in dockerfile
    script = files["env/docker/setup_script"].decode()
    # run() and run_script() steps, in the order they were added
    assert script.index("built-by-image") < script.index("from-script")
    assert "six==1.16.0" in files["env/python/requirements.lock.txt"].decode()

    # The same environment from a bentofile gives the same lock and the same Dockerfile steps.
    plain = make_project(BENTOFILE_EQUIVALENT, {"service.py": PLAIN_SERVICE, "setup.sh": setup,
                                                "generated_setup.sh": script}, name="bentofile")
    other = _files(build_bento(plain).path)
    assert other["env/docker/Dockerfile"] == files["env/docker/Dockerfile"]
    assert other["env/python/requirements.lock.txt"] == files["env/python/requirements.lock.txt"]
    assert other["env/docker/setup_script"] == files["env/docker/setup_script"]


def test_image_and_bentofile_environment_together_is_an_error(make_project: MakeProject) -> None:
    project = make_project('service: "service:Echo"\npython:\n  packages: [numpy]\n',
                           {"service.py": IMAGE_SERVICE, "setup.sh": "true\n"})
    with pytest.raises(InvalidConfig, match=r"python\.packages"):
        build_bento(project)


def test_image_paths_stay_inside_the_project(make_project: MakeProject, tmp_path: Path) -> None:
    (tmp_path / "outside.sh").write_text("echo secret\n")
    service = IMAGE_SERVICE.replace('run_script("setup.sh")', 'run_script("../outside.sh")')
    project = make_project('service: "service:Echo"\n', {"service.py": service})
    with pytest.raises(UnsafePath, match="outside the project"):
        build_bento(project)


def test_image_arguments_are_checked() -> None:
    from bento.images import Image

    with pytest.raises(InvalidConfig, match="only `debian`"):
        Image(distro="alpine")
    with pytest.raises(InvalidConfig, match="non-empty strings"):
        Image().python_packages("")
    import bento

    with pytest.raises(InvalidConfig, match="bento.images.Image"):
        bento.service(image={"python_packages": ["x"]})(type("X", (), {}))


def test_importing_raises_when_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    import bento

    with bento.importing():
        import a_package_nobody_has  # noqa: F401
    monkeypatch.setenv("BENTO_SERVING", "1")
    with pytest.raises(ImportError):
        with bento.importing():
            import a_package_nobody_has  # noqa: F401,F811
