"""`--base-image` / BENTO_BASE_IMAGE replace a bento's base image, and a base image the engine cannot get
is an error that names them (the machine this runs on has no Docker Hub, like many build hosts)."""

from __future__ import annotations

import pytest

from bento.builder.containerize import base_image_override
from bento.core.errors import InvalidArgument
from bento.store import open_store
from utils import run_cli  # tests/utils.py (tests/ is on sys.path via its conftest)

UNREACHABLE = "registry.invalid/bento/no-such-base:1"

# The shape `bento build` renders: the base image is a build argument with the bento's choice as default.
DOCKERFILE = f"""\
ARG BASE_IMAGE={UNREACHABLE}
FROM ${{BASE_IMAGE}} AS base
RUN cat /etc/os-release | grep -o 'bookworm' | head -n 1 > /codename
CMD ["cat", "/codename"]
"""


def store_bento(dockerfile: str, name: str) -> str:
    with open_store().bentos.create(name, version="v1", extra={"models": []}) as b:
        b.path_of("src/x.txt").write_text("x\n")
        b.path_of("env/docker/Dockerfile").write_text(dockerfile)
    assert b.item is not None
    return b.item.tag


@pytest.mark.docker
def test_an_unreachable_base_image_names_the_fix(bento_home, docker_client) -> None:  # type: ignore[no-untyped-def]
    store_bento(DOCKERFILE, "unpullable")
    result = run_cli("containerize", "unpullable:v1", "-t", "bento-test-unpullable:1", "--progress", "quiet",
                     env={"BENTO_BASE_IMAGE": ""}, timeout=300)
    assert result.returncode != 0
    error = result.stderr.strip()
    assert "Traceback" not in error and len(error.splitlines()) == 1, error
    assert f"cannot get the base image {UNREACHABLE}" in error
    assert "--base-image IMAGE" in error and "BENTO_BASE_IMAGE=IMAGE" in error


@pytest.mark.docker
def test_base_image_option_and_environment_replace_the_base(base_image: str, docker_client,
                                                            cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    store_bento(DOCKERFILE, "rebased")
    cleanup += ["bento-test-rebased:1", "bento-test-rebased:2"]
    by_option = run_cli("containerize", "rebased:v1", "-t", "bento-test-rebased:1", "--progress", "quiet",
                        "--base-image", base_image, env={"BENTO_BASE_IMAGE": UNREACHABLE}, timeout=300)
    assert by_option.returncode == 0, by_option.stderr  # the option wins over the environment
    assert docker_client.containers.run("bento-test-rebased:1", remove=True).decode().strip() == "bookworm"
    by_env = run_cli("containerize", "rebased:v1", "-t", "bento-test-rebased:2", "--progress", "quiet",
                     env={"BENTO_BASE_IMAGE": base_image}, timeout=300)
    assert by_env.returncode == 0, by_env.stderr
    assert docker_client.containers.run("bento-test-rebased:2", remove=True).decode().strip() == "bookworm"


def test_base_image_precedence_and_hand_written_dockerfiles() -> None:
    rendered = "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE} AS base\n"
    assert base_image_override("a:1", rendered, {"BENTO_BASE_IMAGE": "b:2"}) == "a:1"
    assert base_image_override(None, rendered, {"BENTO_BASE_IMAGE": "b:2"}) == "b:2"
    assert base_image_override(None, rendered, {}) is None
    # A hand-written Dockerfile cannot take a base image: explicit use is an error, the machine-wide
    # environment variable is ignored.
    assert base_image_override(None, "FROM debian\n", {"BENTO_BASE_IMAGE": "b:2"}) is None
    with pytest.raises(InvalidArgument, match="no `ARG BASE_IMAGE`"):
        base_image_override("a:1", "FROM debian\n", {})
    with pytest.raises(InvalidArgument, match="--base-image 'Not An Image'"):
        base_image_override("Not An Image", rendered, {})
