"""Fixtures for the container tests: the engine, the local base image, and image/container clean-up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

BASE_IMAGE = os.environ.get("BENTO_TEST_BASE_IMAGE", "bento-test-base:bookworm")


@pytest.fixture
def docker_client() -> Iterator["docker.DockerClient"]:  # type: ignore[name-defined]  # noqa: F821
    import docker

    client = docker.from_env(timeout=600)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def base_image(docker_client) -> str:  # type: ignore[no-untyped-def]
    """The debootstrap base image `.ci/run` builds (Docker Hub is unreachable from CI)."""
    import docker

    try:
        docker_client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        message = f"base image {BASE_IMAGE} is missing; build it with `sudo bash .ci/base-image.sh`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return BASE_IMAGE


@pytest.fixture(scope="session", autouse=True)
def no_dangling_images_left() -> Iterator[None]:
    """At the end of the run, remove the untagged images the run made (multi-stage builds leave the
    python-env stage untagged as layer cache): the suite leaves no <none>:<none> images behind."""
    try:
        import docker

        client = docker.from_env(timeout=30)
        before = {i.id for i in client.images.list(filters={"dangling": True})}
    except Exception:
        yield
        return
    yield
    try:
        for image in client.images.list(filters={"dangling": True}):
            if image.id not in before:
                try:
                    client.api.remove_image(image.id, noprune=False)
                except docker.errors.APIError:
                    pass  # still used by a container, or a parent of a tagged image
    finally:
        client.close()


@pytest.fixture
def cleanup(docker_client) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Append image references or ``container:<id>`` to remove them after the test."""
    import docker

    items: list[str] = []
    yield items
    for item in reversed(items):
        try:
            if item.startswith("container:"):
                docker_client.api.remove_container(item.split(":", 1)[1], force=True)
            else:
                docker_client.api.remove_image(item, force=True, noprune=False)
        except docker.errors.NotFound:
            pass


ROOT = Path(__file__).resolve().parents[2]
# What a wheel of the checkout is built from (the rest of the checkout stays out of the copy).
_NOT_SOURCE = {".git", ".venv", "tests", "bench", "examples", "docs", ".ci", "build", "dist"}


@dataclass(frozen=True)
class Installed:
    """A fresh virtualenv with bento installed NON-editable from a wheel of this checkout."""

    venv: Path
    wheel: Path
    build_log: str  # everything `uv build` (setuptools) printed

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def bento(self) -> str:
        return str(self.venv / "bin" / "bento")

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """The environment of a user who activated the virtualenv (nothing of the test's own)."""
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        env["BENTO_HOME"] = str(home)
        return {**env, **extra}


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build a wheel (`uv build --wheel`) of a clean copy of the checkout, install it into a new venv."""
    base = tmp_path_factory.mktemp("installed")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=lambda d, names: [
        n for n in names if (Path(d) == ROOT and n in _NOT_SOURCE) or n == "__pycache__" or n.endswith(".egg-info")])
    uv = [sys.executable, "-m", "uv"]
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    build_log = ""
    for cmd in ([*uv, "build", "--wheel", "--out-dir", str(base / "dist"), str(src)],
                [*uv, "venv", "--quiet", str(base / "venv"), "--python", sys.executable]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        build_log = build_log or done.stdout + done.stderr
    wheel = next((base / "dist").glob("bento_serve-*-py3-none-any.whl"))
    done = subprocess.run([*uv, "pip", "install", "--quiet", "--python", str(base / "venv" / "bin" / "python"),
                           str(wheel)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return Installed(base / "venv", wheel, build_log)
