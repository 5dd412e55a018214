"""``bento.SyncHTTPClient`` / ``bento.AsyncHTTPClient`` and ``bento.depends(url=...)`` against a real public
worker app on loopback (uvicorn in a thread)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from conftest import running

import bento
from bento.client import AsyncHTTPClient, SyncHTTPClient
from bento.errors import NotFound, RemoteError


@bento.service
class Summarizer:
    @bento.api
    def summarize(self, text: str, limit: int = 10) -> str:
        return text[:limit]

    @bento.api
    def stats(self, values: np.ndarray) -> dict[str, float]:
        return {"mean": float(values.mean()), "max": float(values.max())}

    @bento.api
    def scale(self, x: np.ndarray, factor: float) -> np.ndarray:
        return x * factor

    @bento.api
    def shout(self, document: Path, suffix: str = "!") -> Path:
        out = document.with_name("loud.txt")
        out.write_text(document.read_text().upper() + suffix)
        return out

    @bento.api
    def tokens(self, text: str) -> Iterator[str]:
        for word in text.split():
            yield word + " "

    @bento.api
    def strict(self, n: int) -> int:
        if n < 0:
            raise bento.errors.InvalidArgument("n must not be negative")  # type: ignore[attr-defined]
        return n


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running(Summarizer, internal=False) as base:
        yield base


def test_methods_follow_the_schema_and_results_their_kind(url: str, tmp_path: Path) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("quiet words")
    with SyncHTTPClient(url) as client:
        assert client.summarize(text="a long piece of text", limit=6) == "a long"
        assert client.summarize("positional works too") == "positional"
        assert client.stats(values=np.array([1.0, 2.0, 6.0])) == {"mean": 3.0, "max": 6.0}
        loud = client.shout(document=doc)
        assert isinstance(loud, Path) and loud.read_text() == "QUIET WORDS!"
        assert client.shout(doc, suffix="?").read_text() == "QUIET WORDS?"
        assert list(client.tokens(text="one two three")) == ["one ", "two ", "three "]
        assert client.is_ready()


def test_errors_raise_with_the_servers_message_and_status(url: str) -> None:
    with SyncHTTPClient(url) as client:
        with pytest.raises(RemoteError, match="n must not be negative") as info:
            client.strict(n=-1)
        assert info.value.status == 400
        with pytest.raises(RemoteError, match="limit") as info:
            client.summarize(text="x", limit="lots")
        assert info.value.status == 400
        with pytest.raises(AttributeError, match="no API `summarise`"):
            client.summarise  # noqa: B018


def test_async_client_has_the_same_methods(url: str) -> None:
    async def main() -> tuple[str, list[str], dict[str, float]]:
        async with AsyncHTTPClient(url) as client:
            text, stats = await asyncio.gather(client.summarize(text="abcdefghijklmnop"),
                                               client.stats(values=[4, 8]))
            tokens = [t async for t in client.tokens(text="x y")]
            return text, tokens, stats

    assert asyncio.run(main()) == ("abcdefghij", ["x ", "y "], {"mean": 6.0, "max": 8.0})


def test_a_server_without_docs_is_a_clear_error(url: str) -> None:
    with pytest.raises(NotFound, match="no /docs.json"):
        SyncHTTPClient(url + "/nothing-here")


def test_depends_on_a_url_with_the_class_for_typing(url: str) -> None:
    @bento.service
    class Caller:
        remote = bento.depends(Summarizer, url=url)
        untyped = bento.depends(url=url)

        @bento.api
        def run(self, x: np.ndarray) -> np.ndarray:
            return self.remote.scale(x=x, factor=2.0)

    caller = Caller()
    try:
        out = caller.run(np.array([1.0, 2.0]))
        assert isinstance(out, np.ndarray)  # validated back into the declared type
        np.testing.assert_array_equal(out, [2.0, 4.0])
        assert caller.untyped.scale(x=[1, 2], factor=3) == [3, 6]

        async def via_async() -> str:
            try:
                return await caller.remote.to_async.summarize(text="from async code")  # type: ignore[no-any-return]
            finally:
                await caller.remote.aclose()

        assert asyncio.run(via_async()) == "from async"
    finally:
        caller.remote.close()
        caller.untyped.close()
