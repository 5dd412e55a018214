"""Fixtures for the container tests: the engine, the local base image, and image/container clean-up."""

from __future__ import annotations

import os
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
