"""The threads that run a worker's sync APIs (``threads`` per worker), with the cheapest hand-off we know.

``concurrent.futures.ThreadPoolExecutor`` + ``asyncio.wrap_future`` costs a lock-guarded future, a
``Condition``, two chained callbacks and a ``call_soon_threadsafe`` per call: about 8 µs of a core per
request under load, as much as the whole rest of an echo request. Here a call is one tuple on a
``SimpleQueue`` (C, lock-free for the reader); the thread runs it in the request's ``contextvars`` copy and
hands the result back with one ``call_soon_threadsafe`` (uvloop coalesces the wake-ups of a busy loop).

A :class:`Call` is the thread's side of one request: the concurrency slot waits on it
(:meth:`Call.add_done_callback`, as on a ``concurrent.futures.Future``), so a request that timed out keeps
its slot until its thread has really finished. A call whose waiter was cancelled before a thread picked it
up (the client's deadline passed while it queued) is skipped.

:class:`CallThreads` is also a ``concurrent.futures.Executor`` (``__init__``, the hooks and sync streams
go through ``submit``/``run_in_executor``), so with ``threads=1`` everything of the service runs in one
and the same thread, as objects that must stay on their creating thread (sqlite connections) expect.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import queue
import threading
import time
from typing import Any, Callable

from bento.runtime.watchdog import _label

_STOP = None


class Call:
    """One sync API call handed to a thread; finishes exactly once, in that thread."""

    __slots__ = ("func", "kwargs", "context", "loop", "waiter", "_done", "_callbacks", "_lock")

    def __init__(self, func: Callable[..., Any], kwargs: dict[str, Any], loop: asyncio.AbstractEventLoop,
                 waiter: asyncio.Future[Any]) -> None:
        self.func = func
        self.kwargs = kwargs
        self.context = contextvars.copy_context()
        self.loop = loop
        self.waiter = waiter
        self._done = False
        self._callbacks: list[Callable[[Call], None]] | None = None
        self._lock = threading.Lock()

    def done(self) -> bool:
        return self._done

    def add_done_callback(self, callback: Callable[[Call], None]) -> None:
        """Run ``callback(self)`` once the call has finished (now, if it has); it runs in the API thread."""
        with self._lock:
            if not self._done:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(callback)
                return
        callback(self)

    def _finish(self) -> None:
        with self._lock:
            self._done = True
            callbacks, self._callbacks = self._callbacks, None
        for callback in callbacks or ():
            callback(self)


def _hand_back(waiter: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if waiter.done():  # the request gave up (timeout, client gone) while the thread ran
        return
    if error is None:
        waiter.set_result(result)
    else:
        waiter.set_exception(error)


class _Work:
    """An ``Executor.submit`` item."""

    __slots__ = ("future", "func", "args", "kwargs")

    def __init__(self, future: concurrent.futures.Future[Any], func: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self.future = future
        self.func = func
        self.args = args
        self.kwargs = kwargs

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.func(*self.args, **self.kwargs)
        except BaseException as exc:
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)


class CallThreads(concurrent.futures.Executor):
    """``size`` daemon threads, started on first use, fed from one queue."""

    def __init__(self, size: int, name: str = "bento-api") -> None:
        self.size = size
        self.name = name
        self._queue: queue.SimpleQueue[Call | _Work | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False
        # For the wedged-worker watchdog (runtime/watchdog.py): each busy thread's start time and function.
        self.running: dict[int, tuple[float, str]] = {}

    def stuck(self, longer_than: float) -> list[tuple[float, str]]:
        """(seconds, function) of every call running longer than ``longer_than`` seconds."""
        now = time.monotonic()
        return [(now - start, label) for start, label in list(self.running.values()) if now - start > longer_than]

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        if self._closed:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if not self._threads:
            self._start()
        self._queue.put(_Work(future, fn, args, kwargs))
        return future

    def call(self, func: Callable[..., Any], kwargs: dict[str, Any]) -> tuple[Call, asyncio.Future[Any]]:
        """Queue ``func(**kwargs)`` from the event loop; returns the call (for the slot) and the future to
        await."""
        if self._closed:
            raise RuntimeError("the API threads are shut down")
        if not self._threads:
            self._start()
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        call = Call(func, kwargs, loop, waiter)
        self._queue.put(call)
        return call, waiter

    def _start(self) -> None:
        for index in range(self.size):
            thread = threading.Thread(target=self._run, name=f"{self.name}_{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self) -> None:
        get = self._queue.get
        running = self.running
        ident = threading.get_ident()
        while (call := get()) is not _STOP:
            if isinstance(call, _Work):
                running[ident] = (time.monotonic(), _label(call.func, call.args))
                try:
                    call.run()
                finally:
                    running.pop(ident, None)
                continue
            if call.waiter.cancelled():  # nobody waits any more: don't start it
                call._finish()
                continue
            result: Any = None
            error: BaseException | None = None
            running[ident] = (time.monotonic(), getattr(call.func, "__name__", "api"))
            try:
                result = call.context.run(call.func, **call.kwargs)
            except BaseException as exc:  # handed to the request, which turns it into a response
                error = exc
            running.pop(ident, None)
            call._finish()
            try:
                call.loop.call_soon_threadsafe(_hand_back, call.waiter, result, error)
            except RuntimeError:  # the loop is closed: the worker is shutting down
                pass
            del call, result, error

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the threads after the calls already queued (unrun, with ``cancel_futures``); waits for them
        with ``wait``."""
        if self._closed:
            return
        self._closed = True
        while cancel_futures:  # calls nobody started yet: finish them unrun so their slots are given back
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(pending, _Work):
                pending.future.cancel()
            elif pending is not None:
                if not pending.waiter.done():
                    try:
                        pending.loop.call_soon_threadsafe(pending.waiter.cancel)
                    except RuntimeError:
                        pass
                pending._finish()
        for _ in self._threads:
            self._queue.put(_STOP)
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()
