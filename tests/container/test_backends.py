"""Container backends (bento.builder.backends): the selector, containerize through any registered backend,
and the backend contract run against every registered backend (today the Docker engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from bento.builder.backends.base import BuildRequest, ContainerBackend, LogSink
from bento.builder.backends.registry import BACKEND_NAMES, BACKENDS, backend_class, backend_name, open_backend
from bento.builder.containerize import containerize
from bento.errors import ContainerizeError, InvalidArgument
from test_containerize import leftovers, store_bento
from utils import run_cli  # tests/utils.py (tests/ is on sys.path via its conftest)


def test_the_choice_is_flag_then_environment_then_docker() -> None:
    assert backend_name(None, {}) == "docker"
    assert backend_name(None, {"BENTO_CONTAINER_BACKEND": " docker "}) == "docker"
    assert backend_name("docker", {"BENTO_CONTAINER_BACKEND": "nope"}) == "docker"  # the flag wins
    with pytest.raises(InvalidArgument) as err:
        backend_name(None, {"BENTO_CONTAINER_BACKEND": "nope"})
    assert str(err.value) == "BENTO_CONTAINER_BACKEND='nope' is not a container backend; choose one of: docker"
    with pytest.raises(InvalidArgument, match="--backend='podmn'.*choose one of: docker"):
        backend_name("podmn", {})


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_every_registered_backend_is_a_backend_named_by_its_key(name: str) -> None:
    cls = backend_class(name)
    assert issubclass(cls, ContainerBackend) and cls.name == name


def test_an_unknown_backend_is_one_line_before_anything_happens(bento_home: Path) -> None:
    store_bento("FROM scratch\n")
    by_env = run_cli("containerize", "hello:v1", env={"BENTO_CONTAINER_BACKEND": "buildah-ish"})
    assert by_env.returncode == 2 and "Traceback" not in by_env.stderr
    assert by_env.stderr.strip().splitlines()[-1] == \
        "error: BENTO_CONTAINER_BACKEND='buildah-ish' is not a container backend; choose one of: docker"
    by_flag = run_cli("containerize", "hello:v1", "--backend", "buildah-ish")
    assert by_flag.returncode == 2 and "'buildah-ish' is not 'docker'" in by_flag.stderr
    assert leftovers(bento_home) == []


class RecordingBackend(ContainerBackend):
    """A second backend, registered by the test the way a real one is: it records what it is asked."""

    name = "recording"
    seen: list[tuple[str, object]] = []

    def build(self, request: BuildRequest, on_log: LogSink | None = None) -> str:
        dockerfile = (request.context / request.dockerfile).read_text()
        self.seen.append(("build", (request, dockerfile)))
        if on_log is not None:
            on_log("built\n")
        return "sha256:" + "ab" * 32

    def tag(self, image: str, reference: str) -> None:
        self.seen.append(("tag", (image, reference)))

    def image_size(self, image: str) -> int:
        return 42

    def exists(self, reference: str) -> bool:
        return False

    def remove(self, reference: str) -> None:
        pass

    def close(self) -> None:
        self.seen.append(("close", None))


def test_containerize_drives_any_registered_backend(bento_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "recording", f"{__name__}:RecordingBackend")
    RecordingBackend.seen.clear()
    store_bento("FROM scratch\n", name="seam", version="v1")
    logs: list[str] = []
    result = containerize("seam:v1", tags=["seam:a", "reg.local/seam:b"], build_args={"K": "V"},
                          network="none", on_log=logs.append, backend="recording")
    assert (result.id, result.size, result.tags) == ("sha256:" + "ab" * 32, 42, ("seam:a", "reg.local/seam:b"))
    (kind, (request, dockerfile)), *rest = RecordingBackend.seen
    assert kind == "build" and isinstance(request, BuildRequest)
    assert (request.tag, request.subject, dict(request.build_args), request.network) == \
        ("seam:a", "seam:v1", {"K": "V"}, "none")
    assert dockerfile.startswith("FROM scratch\n") and '"ai.bento.tag"="seam:v1"' in dockerfile
    assert rest == [("tag", (result.id, "reg.local/seam:b")), ("close", None)]
    assert logs == ["built\n"]
    assert not request.context.exists() and leftovers(bento_home) == []  # the context is gone


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Iterator[ContainerBackend]:
    with open_backend(request.param) as opened:
        yield opened


@pytest.mark.docker
def test_backend_contract_build_tag_inspect_remove(tmp_path: Path, base_image: str,
                                                   backend: ContainerBackend) -> None:
    (tmp_path / "Dockerfile.custom").write_text(f"FROM {base_image}\nARG WORD\nRUN echo \"contract-$WORD\" > /w\n")
    lines: list[str] = []
    request = BuildRequest(context=tmp_path, dockerfile="Dockerfile.custom", tag="bento-contract:one",
                           subject="contract:v1", build_args={"WORD": "ok"}, no_cache=True)
    image = backend.build(request, lines.append)
    try:
        assert image.startswith("sha256:")
        assert any("contract-" in line for line in lines)
        assert backend.exists(image) and backend.exists("bento-contract:one")
        assert not backend.exists("bento-contract:two")
        backend.tag(image, "bento-contract:two")
        assert backend.exists("bento-contract:two")
        assert backend.image_size(image) > 0
        backend.remove("bento-contract:two")
        assert not backend.exists("bento-contract:two") and backend.exists("bento-contract:one")
        backend.remove("bento-contract:two")  # already gone: no error
    finally:
        backend.remove("bento-contract:one")
    assert not backend.exists(image)


@pytest.mark.docker
def test_backend_contract_a_failed_build_carries_its_output(tmp_path: Path, base_image: str,
                                                            backend: ContainerBackend) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo contract-boom-7 && false\n")
    request = BuildRequest(context=tmp_path, dockerfile="Dockerfile", tag="bento-contract:broken",
                           subject="broken:v1")
    with pytest.raises(ContainerizeError) as err:
        backend.build(request)
    assert "broken:v1" in str(err.value) and "contract-boom-7" in str(err.value)
    assert not backend.exists("bento-contract:broken")
