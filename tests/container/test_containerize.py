"""`bento containerize` against the real Docker engine, with small hand-made bentos (fast)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bento.store import open_store
from utils import run_cli  # tests/utils.py (tests/ is on sys.path via its conftest)

DOCKERFILE = """\
FROM {base}
ARG GREETING=hello
COPY src/ /app/src/
RUN echo "$GREETING from $(cat /app/src/name.txt)" > /greeting
CMD ["cat", "/greeting"]
"""


DESCRIPTION = 'Says "hello" for $5 \\o/ — ünïcode'


def store_bento(dockerfile: str, name: str = "hello", version: str = "v1") -> str:
    """A bento in the store holding only a Dockerfile and one source file."""
    with open_store().bentos.create(name, version=version,
                                    extra={"models": [], "description": DESCRIPTION}) as b:
        b.path_of("src/name.txt").write_text("the bento\n")
        b.path_of("env/docker/Dockerfile").write_text(dockerfile)
    assert b.item is not None
    return b.item.tag


def leftovers(home: Path) -> list[str]:
    tmp = home / ".tmp"
    return sorted(os.listdir(tmp)) if tmp.is_dir() else []


@pytest.mark.docker
def test_image_has_tags_labels_and_build_args(tmp_path: Path, bento_home: Path, base_image: str,
                                              docker_client, cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    tag = store_bento(DOCKERFILE.format(base=base_image))
    cleanup += ["bento-test-a:1", "bento-test/b:2"]
    result = run_cli("containerize", "hello:latest", "-t", "bento-test-a:1", "-t", "bento-test/b:2",
                     "--platform", "linux/amd64", "--build-arg", "GREETING=bonjour", "--progress", "plain", "-o", "json",
                     env={"SOURCE_DATE_EPOCH": "86400"}, timeout=300)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["tags"] == ["bento-test-a:1", "bento-test/b:2"]
    assert "Step 1/" in result.stderr  # plain progress streams the engine's output

    image = docker_client.images.get("bento-test-a:1")
    assert image.id == record["id"] == docker_client.images.get("bento-test/b:2").id
    labels = image.labels
    assert labels["org.opencontainers.image.title"] == "hello"
    assert labels["org.opencontainers.image.version"] == "v1"
    assert labels["org.opencontainers.image.created"] == "1970-01-02T00:00:00Z"
    assert labels["ai.bento.tag"] == tag
    assert labels["ai.bento.digest"] == open_store().bentos.get(tag).digest
    assert labels["org.opencontainers.image.description"] == DESCRIPTION
    out = docker_client.containers.run("bento-test-a:1", remove=True)
    assert out.decode().strip() == "bonjour from the bento"
    assert leftovers(bento_home) == []
    # The context hard-links the stored files; the labelled Dockerfile must not have written through.
    assert open_store().bentos.get(tag).problems() == []


@pytest.mark.docker
def test_default_image_tag_is_the_bento_tag(base_image: str, docker_client,
                                            cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    store_bento(DOCKERFILE.format(base=base_image), name="hello", version="v2")
    cleanup.append("hello:v2")
    result = run_cli("containerize", "hello", "--progress", "quiet", timeout=300)
    assert result.returncode == 0, result.stderr
    image = docker_client.images.get("hello:v2")
    assert "hello:v2" in result.stdout and image.id in result.stdout
    assert result.stderr.count("Step ") == 0  # quiet
    # A bento directory (e.g. an unpacked export) works as well as a store tag.
    by_path = run_cli("containerize", str(open_store().bentos.get("hello:v2").path), "-o", "json", timeout=300)
    assert by_path.returncode == 0, by_path.stderr
    assert json.loads(by_path.stdout)["tags"] == ["hello:v2"]


@pytest.mark.docker
def test_a_failing_build_shows_the_engine_output_and_leaves_nothing(
        bento_home: Path, base_image: str, docker_client) -> None:  # type: ignore[no-untyped-def]
    store_bento(f"FROM {base_image}\nRUN echo boom-marker-42 && false\n", name="broken")
    result = run_cli("containerize", "broken:latest", "--progress", "quiet", timeout=300)
    assert result.returncode == 8
    assert "docker build of broken:" in result.stderr
    assert "boom-marker-42" in result.stderr  # the failing step's output, even when quiet
    assert leftovers(bento_home) == []
    assert not docker_client.images.list(name="broken")


def test_no_engine_is_a_clear_error_and_writes_nothing(tmp_path: Path, bento_home: Path) -> None:
    store_bento("FROM scratch\n")
    result = run_cli("containerize", "hello:v1", env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert result.returncode == 8
    assert f"no Docker engine is reachable at unix://{tmp_path}/no-docker.sock (no socket at that path)" \
        in result.stderr
    assert "DOCKER_HOST" in result.stderr
    # Plain words, no traceback and none of the HTTP library's nested exception reprs.
    assert "Traceback" not in result.stderr and "Error(" not in result.stderr and "Errno" not in result.stderr
    (tmp_path / "plain.sock").touch()
    refused = run_cli("containerize", "hello:v1", env={"DOCKER_HOST": f"unix://{tmp_path}/plain.sock"})
    assert "(nothing accepts connections there)" in refused.stderr and "Error(" not in refused.stderr
    assert leftovers(bento_home) == []


def test_bad_arguments_are_named(bento_home: Path) -> None:
    store_bento("FROM scratch\n")
    bad_tag = run_cli("containerize", "hello:v1", "-t", "Bad Name!")
    assert bad_tag.returncode == 2 and "-t 'Bad Name!'" in bad_tag.stderr
    bad_arg = run_cli("containerize", "hello:v1", "--build-arg", "NOEQUALS")
    assert bad_arg.returncode == 2 and "KEY=VALUE" in bad_arg.stderr
    missing = run_cli("containerize", "nope:v9")
    assert missing.returncode == 3 and "nope" in missing.stderr


@pytest.mark.docker
def test_network_none_cuts_the_build_off(base_image: str, docker_client) -> None:  # type: ignore[no-untyped-def]
    # With the default network the build has an interface besides loopback; with `none` it has only `lo`.
    probe = ("RUN python3 -c \"import socket, sys; sys.exit([n for _, n in socket.if_nameindex()] == ['lo'])\" "
             "|| (echo offline-42 && false)")
    store_bento(f"FROM {base_image}\n{probe}\n", name="offline")
    result = run_cli("containerize", "offline:latest", "--network", "none", "--no-cache",
                     "--progress", "quiet", timeout=300)
    assert result.returncode == 8
    assert "offline-42" in result.stderr


@pytest.mark.docker
def test_rebuilding_a_tag_leaves_no_dangling_image(base_image: str, docker_client,
                                                   cleanup: list[str]) -> None:  # type: ignore[no-untyped-def]
    import docker

    cleanup.append("bento-test-rebuild:1")
    store_bento(DOCKERFILE.format(base=base_image), name="rebuild", version="v1")
    store_bento(DOCKERFILE.format(base=base_image).replace("hello", "hi"), name="rebuild", version="v2")
    first = run_cli("containerize", "rebuild:v1", "-t", "bento-test-rebuild:1", "-o", "json", "--progress", "quiet",
                    timeout=300)
    assert first.returncode == 0, first.stderr
    old = json.loads(first.stdout)["id"]
    second = run_cli("containerize", "rebuild:v2", "-t", "bento-test-rebuild:1", "-o", "json", "--progress", "quiet",
                     timeout=300)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["id"] != old
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(old)  # not left behind as <none>:<none>
    # An image a container still uses is kept (the engine refuses to remove it), and the build succeeds.
    in_use = docker_client.containers.create("bento-test-rebuild:1")
    cleanup.append(f"container:{in_use.id}")
    kept = in_use.image.id
    cleanup.append(kept)
    third = run_cli("containerize", "rebuild:v1", "-t", "bento-test-rebuild:1", "--progress", "quiet", timeout=300)
    assert third.returncode == 0, third.stderr
    assert docker_client.images.get(kept).id == kept
