"""The wedged-worker watchdog.

A sync API runs in one of the worker's ``threads``; a call that never returns keeps its thread after the
client got its 504. When every thread of a worker has been stuck longer than ``traffic.timeout`` plus a
grace period, the worker can no longer answer any sync API, yet its event loop (and so ``/livez``) is fine.
The watchdog notices that: the worker then reports itself unhealthy on ``/livez`` and ``/readyz``, answers
every API with 503, stops accepting connections and exits, and the supervisor starts a replacement.
The log line names the API functions the threads are stuck in.

:class:`WatchedPool` is the API thread pool; it records when each running call started and in which
function. :class:`Watchdog` polls it from the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import logging
import threading
import time
from typing import Any, Callable, Protocol

logger = logging.getLogger("bento.server")
GRACE_MIN = 1.0  # seconds past traffic.timeout before a thread counts as stuck: half the timeout,
GRACE_MAX = 30.0  # but at least GRACE_MIN and at most GRACE_MAX


def grace_for(timeout: float) -> float:
    return min(max(timeout / 2, GRACE_MIN), GRACE_MAX)


def _label(fn: Any, args: tuple[Any, ...]) -> str:
    """The user function behind a submitted call: ``ctx.run(func)``, ``ctx.run(_step, generator)``, a
    lambda closing over the API function..."""
    if isinstance(fn, type(contextvars.copy_context().run)) and args:  # Context.run(target, ...)
        fn, args = args[0], args[1:]
    while isinstance(fn, functools.partial):
        fn = fn.func
    for candidate in (*args[:1], fn):
        if hasattr(candidate, "gi_code"):  # a generator being stepped
            return str(candidate.__name__)
    name = getattr(fn, "__name__", None) or type(fn).__name__
    if name.startswith("<") or name.startswith("_"):  # a lambda or helper: look at what it calls
        for cell in getattr(fn, "__closure__", None) or ():
            inner = getattr(cell, "cell_contents", None)
            if callable(inner) and getattr(inner, "__name__", "<").isidentifier():
                return str(inner.__name__)
    return str(name)


class WatchedPool(concurrent.futures.ThreadPoolExecutor):
    """A thread pool that knows, for each busy thread, since when and in which function it runs."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self.size = max_workers
        self.running: dict[int, tuple[float, str]] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        running = self.running
        label = _label(fn, args)

        def watched() -> Any:
            ident = threading.get_ident()
            running[ident] = (time.monotonic(), label)
            try:
                return fn(*args, **kwargs)
            finally:
                running.pop(ident, None)

        return super().submit(watched)

    def stuck(self, longer_than: float) -> list[tuple[float, str]]:
        """(seconds, function) of every call running longer than ``longer_than`` seconds."""
        now = time.monotonic()
        return [(now - start, label) for start, label in list(self.running.values()) if now - start > longer_than]


class BusyThreads(Protocol):
    """What the watchdog reads of an API thread pool (:class:`WatchedPool`, ``runtime.calls.CallThreads``)."""

    size: int

    def stuck(self, longer_than: float) -> list[tuple[float, str]]: ...


class Watchdog:
    """Polls a :class:`WatchedPool`; calls ``on_wedged(message)`` once every thread is stuck."""

    def __init__(self, pool: BusyThreads, timeout: float, on_wedged: Callable[[str], None],
                 exempt: frozenset[str] = frozenset()) -> None:
        """``exempt``: functions allowed to run longer than ``timeout`` (``@bento.task`` APIs)."""
        self.pool = pool
        self.exempt = exempt
        self.timeout = timeout
        self.limit = timeout + grace_for(timeout)
        self.on_wedged = on_wedged
        self.interval = min(1.0, max(0.1, self.limit / 4))
        self._task: asyncio.Task[None] | None = None

    def check(self) -> str | None:
        stuck = [(age, label) for age, label in self.pool.stuck(self.limit) if label not in self.exempt]
        if not stuck or len(stuck) < self.pool.size:
            return None
        names = sorted({label for _, label in stuck})
        return (f"worker wedged: all {self.pool.size} API thread{'s are' if self.pool.size > 1 else ' is'} "
                f"stuck in {', '.join(f'`{n}`' for n in names)} for more than {self.limit:g}s "
                f"(traffic.timeout {self.timeout:g}s + grace); it stops taking requests and is replaced")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            message = self.check()
            if message is not None:
                logger.error("%s", message)
                self.on_wedged(message)
                return

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
