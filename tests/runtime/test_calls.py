"""The API threads: results and errors come back to the loop, the slot waits for the thread, a call whose
request gave up before it started is skipped, shutdown gives back what never ran."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from bento.runtime.calls import CallThreads

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def test_result_error_and_context_come_back() -> None:
    threads = CallThreads(1)

    async def main() -> None:
        request_id.set("r1")
        call, waiter = threads.call(lambda x: (x * 2, request_id.get(), threading.current_thread().name), {"x": 21})
        assert await waiter == (42, "r1", "bento-api_0")
        assert call.done()

        def boom() -> None:
            raise ValueError("bad input")

        with pytest.raises(ValueError, match="bad input"):
            await threads.call(boom, {})[1]

    asyncio.run(main())
    threads.shutdown()


def test_executor_submit_shares_the_same_thread() -> None:
    threads = CallThreads(1)

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        first = await loop.run_in_executor(threads, threading.get_ident)
        second = await threads.call(threading.get_ident, {})[1]
        return first, second

    first, second = asyncio.run(main())
    assert first == second
    threads.shutdown()


def test_cancelled_before_start_is_skipped_and_done_callbacks_run_once() -> None:
    threads = CallThreads(1)
    gate = threading.Event()
    ran: list[str] = []
    finished: list[str] = []

    async def main() -> None:
        blocker, blocker_waiter = threads.call(gate.wait, {})
        queued, queued_waiter = threads.call(lambda: ran.append("queued"), {})
        queued.add_done_callback(lambda c: finished.append("queued"))
        queued_waiter.cancel()  # the request timed out while its call waited for the thread
        gate.set()
        await blocker_waiter
        while not queued.done():
            await asyncio.sleep(0.01)
        queued.add_done_callback(lambda c: finished.append("late"))  # already done: runs at once

    asyncio.run(main())
    threads.shutdown()
    assert ran == [] and finished == ["queued", "late"]


def test_shutdown_cancels_what_never_started() -> None:
    threads = CallThreads(1)
    gate, started = threading.Event(), threading.Event()

    def hold() -> bool:
        started.set()
        return gate.wait()

    async def main() -> None:
        running = threads.submit(hold)
        assert started.wait(5)
        pending = threads.submit(lambda: "never")
        call, waiter = threads.call(lambda: "never", {})
        threads.shutdown(wait=False, cancel_futures=True)
        assert pending.cancelled() and call.done()
        await asyncio.sleep(0)
        assert waiter.cancelled()
        gate.set()
        assert running.result(5) is True
        with pytest.raises(RuntimeError):
            threads.submit(print)

    asyncio.run(main())


def test_worker_falls_back_to_asyncio_without_the_uvloop_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from bento.runtime import worker

    assert worker.event_loop() == "uvloop"  # a dependency
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a))
    assert worker.event_loop() == "asyncio"
