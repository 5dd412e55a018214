"""Our SyncHTTPClient / AsyncHTTPClient take BentoML's constructor arguments, send root inputs as BentoML's
do, and the async client does no I/O in its constructor."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Iterator

import pytest
from utils import free_port, serve  # tests/utils.py

import bentoml
from bento.errors import InvalidArgument, ServiceUnavailable

HERE = Path(__file__).resolve().parent / "clients"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    project = tmp_path_factory.mktemp("clients") / "clients"
    shutil.copytree(HERE, project)
    with serve(["service:Compat"], cwd=project) as server:
        yield server.url


def test_sync_client_takes_bentoml_s_arguments_and_sends_root_inputs(url: str, tmp_path: Path) -> None:
    document = tmp_path / "d.txt"
    document.write_bytes(b"abcdef")
    with bentoml.SyncHTTPClient(url, media_type="application/json", server_ready_timeout=10, token="t0k",
                                timeout=20) as client:
        assert client.headers["Authorization"] == "Bearer t0k"
        assert client.shout("quiet") == "QUIET"  # text/plain body for a root `str`
        assert client.total([1, 2, 3.5]) == 6.5  # a JSON list body for a root `list[float]`
        assert client.size(document=document) == 6
        assert "".join(client.count(n=3)) == "0;1;2;"
    with pytest.raises(InvalidArgument, match="only application/json"):
        bentoml.SyncHTTPClient(url, media_type="application/vnd.bentoml+pickle")


def test_async_client_constructor_does_no_io_and_calls_work_without_async_with(url: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    lazy = bentoml.AsyncHTTPClient(nowhere)  # nothing listens there: the constructor must not care

    async def main() -> tuple[str, str, str]:
        with pytest.raises(ServiceUnavailable, match="cannot reach"):
            await lazy.summarize(text="x")
        await lazy.close()
        client = bentoml.AsyncHTTPClient(url, server_ready_timeout=10)
        try:
            first = await client.summarize(text="a b c d e")  # the schema is read on this first call
            streamed = "".join([chunk async for chunk in client.acount(n=2)])
            shouted = await client.shout("hey")
        finally:
            await client.close()
        return first, streamed, shouted

    assert asyncio.run(main()) == ("a b c", "a0;a1;", "HEY")


def test_wait_until_server_ready_gives_up_with_a_clear_error() -> None:
    client = bentoml.AsyncHTTPClient(f"http://127.0.0.1:{free_port()}", timeout=1)

    async def main() -> None:
        try:
            await client.wait_until_server_ready(0.3)
        finally:
            await client.close()

    with pytest.raises(ServiceUnavailable, match="was not ready within 0.3s"):
        asyncio.run(main())
