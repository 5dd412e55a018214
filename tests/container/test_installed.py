"""bento installed the way users install it: a wheel, NON-editable, in a fresh virtualenv.

The bento it builds carries that exact runtime (a wheel put back together from the installed files),
never the unrelated `bento` of the package index; Python started in the checkout imports the installed
package, not the checkout's folders.
"""

from __future__ import annotations

import io
import json
import subprocess
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, Installed

from utils import free_port

SERVICE = '''\
import bento


@bento.service(workers=1)
class Greeter:
    @bento.api
    def greet(self, name: str) -> str:
        return f"hello {name} from bento " + bento.__version__
'''


def run(installed: Installed, home: Path, *args: str, cwd: Path | str, timeout: float = 600,
        **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, env=installed.env(home, **env), capture_output=True, text=True,
                          timeout=timeout)


def _wheel_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if not n.endswith("/RECORD")}


@pytest.mark.slow
def test_the_wheel_builds_without_setuptools_warnings(installed: Installed) -> None:
    assert "running bdist_wheel" in installed.build_log  # the log is setuptools' own output
    assert "Warning" not in installed.build_log and "runtime.static" not in installed.build_log
    with zipfile.ZipFile(installed.wheel) as zf:
        names = set(zf.namelist())
    assert {"bento/runtime/static/index.html", "bento/runtime/static/app.js",
            "bento/templates/Dockerfile.j2"} <= names
    assert not any(n.startswith(("tests/", "examples/")) or n == "__init__.py" for n in names)


@pytest.mark.slow
def test_python_in_the_checkout_imports_the_installed_package(installed: Installed, tmp_path: Path) -> None:
    code = ("import bento, json\n"
            "with bento.models.create('from-checkout') as m:\n"
            "    (m.path / 'w.txt').write_text('1')\n"
            "print(json.dumps({'file': bento.__file__, 'tag': str(m.model.tag)}))\n")
    done = run(installed, tmp_path / "home", installed.python, "-c", code, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["file"].startswith(str(installed.venv)), out  # not the checkout's sdk/ folder
    assert out["tag"].startswith("from-checkout:")
    assert (tmp_path / "home" / "models" / "from-checkout").is_dir()


@pytest.mark.slow
def test_the_wheel_rebuilt_from_the_install_is_the_installed_wheel(installed: Installed, tmp_path: Path) -> None:
    code = ("import base64, json, sys\n"
            "from bento.builder import ownwheel\n"
            "a, b = ownwheel.build_own_wheel(), ownwheel.build_own_wheel()\n"
            "json.dump({'name': a.filename, 'same': a.data == b.data, "
            "'data': base64.b64encode(a.data).decode()}, sys.stdout)\n")
    done = run(installed, tmp_path / "home", installed.python, "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["name"] == installed.wheel.name and out["same"]  # reproducible: same install, same bytes
    import base64

    assert _wheel_files(base64.b64decode(out["data"])) == _wheel_files(installed.wheel.read_bytes())


@pytest.mark.slow
def test_an_edited_install_is_refused(installed: Installed, tmp_path: Path) -> None:
    """A copy of the venv's package with one file changed: the rebuilt wheel would not be the release."""
    code = ("import importlib.metadata as md, pathlib, shutil, sys\n"
            "from bento.builder import ownwheel\n"
            "dist = next(d for d in md.distributions(name=ownwheel.DIST) if ownwheel._is_running_install(d))\n"
            "site = pathlib.Path(str(dist.locate_file('')))\n"
            "copy = pathlib.Path(sys.argv[1])\n"
            "shutil.copytree(site / 'bento', copy / 'bento')\n"
            "shutil.copytree(site / dist._path.name, copy / dist._path.name)\n"
            "shutil.copy(site / 'bento-bentoml.pth', copy / 'bento-bentoml.pth')\n"
            "(copy / 'bento' / 'core' / 'errors.py').write_text('# edited\\n', encoding='utf-8')\n"
            "try:\n"
            "    ownwheel.wheel_from_installed(md.PathDistribution(copy / dist._path.name))\n"
            "except Exception as exc:\n"
            "    print(exc)\n")
    done = run(installed, tmp_path / "home", installed.python, "-c", code, str(tmp_path / "site"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "errors.py was changed after bento-serve was installed" in done.stdout
    assert "pip install --force-reinstall bento-serve" in done.stdout


@pytest.mark.docker
@pytest.mark.slow
def test_installed_wheel_builds_containerizes_runs_and_answers(installed: Installed, tmp_path: Path,
                                                               base_image: str, docker_client,
                                                               cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    project = tmp_path / "greeter"
    project.mkdir()
    (project / "service.py").write_text(SERVICE)
    (project / "bentofile.yaml").write_text('service: "service:Greeter"\ninclude: ["*.py"]\n')

    built = run(installed, home, installed.bento, "build", "-o", "json", cwd=project)
    assert built.returncode == 0, built.stderr
    bento_tag = json.loads(built.stdout)["tag"]
    bento_dir = home / "bentos" / bento_tag.replace(":", "/")
    local = sorted(p.name for p in (bento_dir / "env/python/local").iterdir())
    assert local == [installed.wheel.name]  # the running runtime travels with the bento
    assert "bento-serve==" not in (bento_dir / "env/python/requirements.lock.txt").read_text()

    image = f"bento-test-installed:{bento_tag.split(':')[1]}"
    cleanup.append(image)
    made = run(installed, home, installed.bento, "containerize", bento_tag, "-t", image,
               "--base-image", base_image, "--progress", "plain", cwd=project)
    assert made.returncode == 0, made.stderr[-3000:]

    port = free_port()
    container = docker_client.containers.run(image, detach=True, ports={"3000/tcp": ("127.0.0.1", port)})
    cleanup.append(f"container:{container.id}")
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, container.logs().decode()[-3000:]
        time.sleep(0.5)
    answer = httpx.post(f"http://127.0.0.1:{port}/greet", json={"name": "wheel"}, timeout=30)
    assert answer.status_code == 200, answer.text
    from bento import __version__

    assert answer.text == f"hello wheel from bento {__version__}"
