"""``.to_async`` / ``.to_sync`` on in-process service instances (``--development`` and plain Python)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import AsyncIterator, Iterator

import anyio.to_thread
import pytest

import bento
from bento.core.deadline import request_deadline


@bento.service
class Mixed:
    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.barrier: threading.Barrier | None = None

    @bento.api
    def square(self, x: int) -> int:
        if self.barrier is not None:  # every caller must be inside at once, or this times out
            self.barrier.wait(timeout=10)
        return x * x

    @bento.api
    async def add(self, a: int, b: int = 1) -> int:
        self.loop = asyncio.get_running_loop()
        return a + b

    @bento.api
    def count(self, n: int) -> Iterator[int]:
        yield from range(n)

    @bento.api
    async def acount(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    @bento.api
    def deadline_seen(self) -> float | None:
        return request_deadline.get()


def test_to_async_runs_sync_apis_concurrently_in_threads() -> None:
    svc = Mixed()
    svc.barrier = threading.Barrier(4)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(svc.to_async.square(i) for i in range(4))))

    assert asyncio.run(main()) == [0, 1, 4, 9]


def test_to_async_leaves_async_apis_alone_and_streams_sync_generators() -> None:
    svc = Mixed()

    async def main() -> tuple[int, list[int]]:
        total = await svc.to_async.add(2, b=3)
        items = [i async for i in svc.to_async.count(3)]
        return total, items

    assert asyncio.run(main()) == (5, [0, 1, 2])


def test_to_async_carries_context_variables_into_the_thread() -> None:
    svc = Mixed()

    async def main() -> float | None:
        request_deadline.set(123.0)
        return await svc.to_async.deadline_seen()

    assert asyncio.run(main()) == 123.0


def test_to_sync_from_plain_code_and_from_async_code() -> None:
    svc = Mixed()
    assert svc.to_sync.add(1) == 2
    assert list(svc.to_sync.acount(3)) == [0, 1, 2]
    assert svc.to_sync.square(3) == 9  # already sync: unchanged

    async def from_async() -> int:
        return svc.to_sync.add(5, 5)  # blocks this coroutine, but does not deadlock

    assert asyncio.run(from_async()) == 10


def test_to_sync_from_a_server_thread_runs_on_the_servers_loop() -> None:
    svc = Mixed()

    async def main() -> bool:
        value = await anyio.to_thread.run_sync(lambda: svc.to_sync.add(1, 1))
        items = await anyio.to_thread.run_sync(lambda: list(svc.to_sync.acount(2)))
        return value == 2 and items == [0, 1] and svc.loop is asyncio.get_running_loop()

    assert asyncio.run(main())


def test_a_dependency_instantiated_in_process_has_both_views() -> None:
    @bento.service
    class Entry:
        mixed = bento.depends(Mixed)

        @bento.api
        async def both(self, x: int) -> int:
            square, total = await asyncio.gather(self.mixed.to_async.square(x), self.mixed.add(x))
            return square + total

    assert asyncio.run(Entry().both(3)) == 9 + 4
    assert Entry().mixed.to_sync.add(1) == 2


def test_a_user_defined_to_async_attribute_is_kept() -> None:
    @bento.service
    class Custom:
        to_async = "mine"

        @bento.api
        def f(self) -> int:
            return 1

    assert Custom().to_async == "mine"
    with pytest.raises(AttributeError):
        Mixed().to_async.not_there  # noqa: B018


def test_in_process_dependency_fills_in_the_context_like_a_remote_call() -> None:
    @bento.service
    class Writer:
        @bento.api
        def write(self, context: bento.Context, text: str, name: str = "out.txt") -> Path:
            path = Path(context.temp_dir) / name
            path.write_text(text)
            return path

    @bento.service
    class Entry:
        writer = bento.depends(Writer)

    entry = Entry()
    assert entry.writer.write("positional").read_text() == "positional"

    async def main() -> Path:
        return await entry.writer.to_async.write("async", name="a.txt")  # type: ignore[no-any-return]

    assert asyncio.run(main()).read_text() == "async"
