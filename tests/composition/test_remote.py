"""``bento.depends`` across processes, proxy side: a real internal worker app on a Unix socket (uvicorn in
a thread), called through the proxy that ``bento.runtime.remote.SocketResolver`` puts behind dependencies."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import numpy as np
import pytest
from conftest import running

import bento
from bento.errors import RemoteError, ServiceUnavailable
from bento.runtime import remote
from bento.core.deadline import remaining, request_deadline


@bento.service(traffic={"timeout": 30})
class Backend:
    @bento.api
    def double(self, x: np.ndarray) -> np.ndarray:
        return x * 2

    @bento.api
    async def scale(self, x: np.ndarray, factor: float = 3.0) -> np.ndarray:
        return x * factor

    @bento.api
    def render(self, text: str, ctx: bento.Context) -> Path:
        path = Path(ctx.temp_dir) / "card.txt"
        path.write_text(f"card: {text}")
        return path

    @bento.api
    def size(self, document: Path) -> int:
        return len(document.read_bytes())

    @bento.api
    def fail(self, code: int) -> str:
        if code == 404:
            raise bento.errors.NotFound("no such card")  # type: ignore[attr-defined]
        raise ValueError("bad input for fail")

    @bento.api
    def budget(self) -> float:
        left = remaining()
        return -1.0 if left is None else left

    @bento.api
    def words(self, text: str) -> Iterator[str]:
        yield from text.split()

    @bento.api
    async def vectors(self, n: int) -> AsyncIterator[np.ndarray]:
        for i in range(n):
            yield np.full(2, float(i))

    @bento.api
    def typed_chunks(self, n: int) -> Iterator[np.ndarray]:
        for i in range(n):
            yield np.full((2, 2), i + 0.1, dtype=np.float32)


@bento.service
class Frontend:
    backend = bento.depends(Backend)

    @bento.api
    def combined(self, x: np.ndarray) -> np.ndarray:
        return self.backend.double(x)

    @bento.api
    async def gathered(self, x: np.ndarray) -> np.ndarray:
        a, b = await asyncio.gather(self.backend.to_async.double(x), self.backend.scale(x))
        return a + b


@pytest.fixture
def frontend(sock: str) -> Iterator[Any]:
    """A Frontend whose dependency is resolved as a worker of ``bento serve`` resolves it."""
    with running(Backend, internal=True, uds=sock):
        yield Frontend.instantiate(remote.SocketResolver({"Backend": sock}))


@pytest.fixture
def proxy(frontend: Any) -> Iterator[remote.RemoteService]:
    dep = frontend.backend
    assert isinstance(dep, remote.RemoteService)
    try:
        yield dep
    finally:
        dep.close()


def test_arrays_cross_the_socket_and_keep_their_type(proxy: remote.RemoteService, frontend: Any) -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = proxy.double(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, x * 2)
    np.testing.assert_array_equal(frontend.combined(x), x * 2)


def test_async_target_is_awaited_and_sync_target_has_to_async(proxy: remote.RemoteService, frontend: Any) -> None:
    x = np.ones(3)

    async def gathered() -> np.ndarray:
        try:
            return await frontend.gathered(x)
        finally:
            await proxy.aclose()

    np.testing.assert_array_equal(asyncio.run(gathered()), x * 5)
    np.testing.assert_array_equal(proxy.to_sync.scale(x, factor=0.5), x * 0.5)
    np.testing.assert_array_equal(proxy.double.run(x), x * 2)


def test_path_result_is_a_readable_local_file_after_the_dependency_cleaned_up(proxy: remote.RemoteService) -> None:
    path = proxy.render("hello")
    assert isinstance(path, Path)
    assert path.name == "card.txt"
    assert path.read_text() == "card: hello"
    assert Path(proxy.socket_path).parent in path.parents


def test_path_argument_is_readable_by_the_dependency(proxy: remote.RemoteService, tmp_path: Path) -> None:
    document = tmp_path / "doc.bin"
    document.write_bytes(b"x" * 1234)
    assert proxy.size(document) == 1234


def test_errors_surface_with_remote_status_and_message(proxy: remote.RemoteService) -> None:
    with pytest.raises(RemoteError, match="no such card") as info:
        proxy.fail(404)
    assert info.value.status == 404
    with pytest.raises(RemoteError, match="bad input for fail") as info:
        proxy.fail(1)
    assert info.value.status == 500
    with pytest.raises(RemoteError) as info:
        proxy.to_sync.scale(x=np.ones(2), factor="lots")
    assert info.value.status == 400
    np.testing.assert_array_equal(proxy.double(x=np.ones(2), extra=1), [2.0, 2.0])  # unknown kwargs: dropped


def test_remaining_deadline_travels_with_the_call(proxy: remote.RemoteService) -> None:
    assert proxy.budget() > 25  # no caller deadline: the dependency's own traffic.timeout (30 s)
    token = request_deadline.set(time.monotonic() + 5)
    try:
        left = proxy.budget()
        assert 0 < left <= 5
        request_deadline.set(time.monotonic() - 0.1)
        with pytest.raises(ServiceUnavailable, match="deadline has already passed"):
            proxy.double(np.ones(1))
    finally:
        request_deadline.reset(token)


def test_streams_arrive_item_by_item_in_both_conventions(proxy: remote.RemoteService) -> None:
    assert list(proxy.words("a bb ccc")) == ["a", "bb", "ccc"]

    async def collect() -> list[np.ndarray]:
        try:
            return [v async for v in proxy.vectors(3)]
        finally:
            await proxy.aclose()

    items = asyncio.run(collect())
    assert all(isinstance(v, np.ndarray) for v in items)
    assert [v.tolist() for v in items] == [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]
    assert [v.tolist() for v in proxy.to_sync.vectors(2)] == [[0.0, 0.0], [1.0, 1.0]]


def test_stream_items_keep_their_ndarray_dtype_and_shape_between_services(proxy: remote.RemoteService) -> None:
    items = list(proxy.typed_chunks(3))
    assert [(v.dtype, v.shape) for v in items] == [(np.dtype(np.float32), (2, 2))] * 3
    np.testing.assert_array_equal(items[1], np.full((2, 2), 1.1, dtype=np.float32))  # no float64 widening

    async def collect() -> list[np.ndarray]:
        try:
            return [v async for v in proxy.to_async.typed_chunks(2)]
        finally:
            await proxy.aclose()

    assert [v.dtype for v in asyncio.run(collect())] == [np.float32, np.float32]


def test_a_public_client_still_gets_json_stream_items() -> None:
    with running(Backend, internal=False) as url:
        response = httpx.post(url + "/typed_chunks", json={"n": 1},
                              headers={"accept": f"text/event-stream, {remote.PICKLE}"})
    assert response.status_code == 200 and "x-bento-items" not in response.headers
    assert response.text.startswith("data: [[0.1")


def test_unknown_api_names_the_available_ones(proxy: remote.RemoteService) -> None:
    with pytest.raises(AttributeError, match="no API `tripple`.*double"):
        proxy.tripple


def test_internal_wire_format_is_refused_by_a_public_app() -> None:
    import pickle

    with running(Backend, internal=False) as url:
        response = httpx.post(url + "/double", content=pickle.dumps({"x": np.ones(2)}),
                              headers={"content-type": remote.PICKLE, "accept": remote.PICKLE})
    assert response.status_code == 415
    assert response.json()["error"] == "UnsupportedMediaType"


def test_unreachable_dependency_is_service_unavailable(tmp_path: Path) -> None:
    frontend = Frontend.instantiate(remote.SocketResolver({"Backend": str(tmp_path / "nobody.sock")}))
    try:
        with pytest.raises(ServiceUnavailable, match="Backend.double is not reachable"):
            frontend.backend.double(np.ones(1))
    finally:
        frontend.backend.close()


def test_without_a_resolver_the_dependency_runs_in_process() -> None:
    dep = Frontend().backend
    assert not isinstance(dep, remote.RemoteService)
    np.testing.assert_array_equal(dep.double(np.ones(2)), np.full(2, 2.0))


def test_a_resolver_reaches_dependencies_made_in_process(tmp_path: Path) -> None:
    """A service the resolver leaves to this process resolves its own dependencies with the same resolver."""

    @bento.service
    class Edge:
        frontend = bento.depends(Frontend)

    edge = Edge.instantiate(remote.SocketResolver({"Backend": str(tmp_path / "nobody.sock")}))
    assert isinstance(edge.frontend.instance.backend, remote.RemoteService)
