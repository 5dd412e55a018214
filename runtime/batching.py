"""Adaptive batching for ``@bento.api(batchable=True)``.

The app wraps each batchable API once at startup with :func:`wrap_batchable`. Requests then queue in a
:class:`Dispatcher`, which merges compatible requests (numpy arrays concatenated along the API's input
``batch_dim``, lists concatenated), calls the user method once and hands every request its own slice of
the result (split along the output ``batch_dim``).

The policy is work-conserving: the model is never idle while requests wait, and a request is never held
back on purpose. A lone request on an idle server is dispatched at once; while a batch runs, newcomers
queue, so under load batches grow by themselves. How far they may grow is decided by a cost model
``t(n) = a + b·n`` fitted (exponentially weighted least squares) to the observed call times: a batch takes
requests in arrival order up to ``max_batch_size`` rows and only while its predicted end stays within the
deadline of every request in it (``max_latency_ms`` after arrival, or the caller's ``traffic.timeout`` if
sooner). A request that had to queue and can no longer finish in time even on its own, or whose deadline
passes in the queue, is answered :class:`~bento.errors.ServiceUnavailable` (503) instead of being served
late; one that found the model idle is always served (its lateness would not come from waiting, and
serving it keeps the cost model current, e.g. after a slow first call). A request with more
rows than ``max_batch_size`` is split into chunks and its results joined again.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from bento.core.errors import ServiceUnavailable
from bento.runtime.batch_values import describe, join_results, merge_requests, split_request, split_result
from bento.core.deadline import request_deadline

if TYPE_CHECKING:
    from bento.core.services import APIMethod

Call = Callable[[dict[str, Any]], Awaitable[Any]]


def wrap_batchable(api: APIMethod, call: Call) -> Call:
    """Return a per-request ``call`` that batches requests to ``api`` (``call`` itself if not batchable)."""
    if not api.batchable:
        return call
    dispatcher = Dispatcher(
        call,
        name=api.name,
        max_batch_size=api.max_batch_size,
        max_latency=api.max_latency_ms / 1000,
        input_dim=api.input_batch_dim,
        output_dim=api.output_batch_dim,
        shared_params=(api.signature.context_param,) if api.signature.context_param else (),
    )
    return dispatcher.submit


class CostModel:
    """Predicts the duration of a call with ``n`` rows from recent observations: ``t = a + b·n``.

    Each observation's weight decays by ``decay`` per new observation, so the fit follows the model's
    current behaviour (warm-up, a slower device). While only one batch size has been seen, the model
    assumes no batching benefit above it (cost proportional to rows): pessimistic, so early batches stay
    small until larger ones have been measured.
    """

    def __init__(self, decay: float = 0.9) -> None:
        self.decay = decay
        self._w = self._n = self._t = self._nn = self._nt = 0.0

    @property
    def observed(self) -> bool:
        return self._w > 0

    def observe(self, rows: int, seconds: float) -> None:
        d = self.decay
        self._w = self._w * d + 1
        self._n = self._n * d + rows
        self._t = self._t * d + seconds
        self._nn = self._nn * d + rows * rows
        self._nt = self._nt * d + rows * seconds

    def predict(self, rows: int) -> float:
        if not self.observed:
            return 0.0
        mean_n, mean_t = self._n / self._w, self._t / self._w
        var = self._nn / self._w - mean_n * mean_n
        if var < 0.25:  # (practically) a single batch size so far
            return mean_t * max(1.0, rows / max(mean_n, 1.0))
        slope = max((self._nt / self._w - mean_n * mean_t) / var, 0.0)
        intercept = max(mean_t - slope * mean_n, 0.0)
        return intercept + slope * rows


@dataclass(eq=False)
class _Pending:
    kwargs: dict[str, Any]
    rows: int
    key: tuple[Any, ...]
    deadline: float
    future: asyncio.Future[Any]
    arrived_idle: bool = False
    started: bool = False
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class Dispatcher:
    """Queues requests for one batchable API and runs them through ``call`` in merged batches."""

    def __init__(
        self,
        call: Call,
        *,
        name: str,
        max_batch_size: int,
        max_latency: float,
        input_dim: int = 0,
        output_dim: int = 0,
        shared_params: tuple[str, ...] = (),
    ) -> None:
        self.call = call
        self.name = name
        self.max_batch_size = max_batch_size
        self.max_latency = max_latency
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.shared_params = shared_params
        self.cost = CostModel()
        self._queue: collections.deque[_Pending] = collections.deque()
        self._drainer: asyncio.Task[None] | None = None
        self._busy = False
        self._metrics = batch_metrics()

    async def submit(self, kwargs: dict[str, Any]) -> Any:
        """Serve one request (its kwargs may carry several rows); returns its own rows of the result."""
        described = describe(kwargs, self.input_dim, self.shared_params)
        if described is None:  # nothing to batch on (no array or list argument): call as is
            return await self.call(kwargs)
        rows, key = described
        deadline = time.monotonic() + self.max_latency
        limit = caller_deadline()
        if limit is not None:
            deadline = min(deadline, limit)
        if rows <= self.max_batch_size:
            return await self._enqueue(kwargs, rows, key, deadline)
        chunks = split_request(kwargs, self.input_dim, self.max_batch_size, rows)
        parts = await asyncio.gather(
            *(self._enqueue(chunk, n, key, deadline) for chunk, n in chunks)
        )
        return join_results(list(parts), self.output_dim)

    async def _enqueue(self, kwargs: dict[str, Any], rows: int, key: tuple[Any, ...], deadline: float) -> Any:
        loop = asyncio.get_running_loop()
        pending = _Pending(kwargs, rows, key, deadline, loop.create_future(),
                           arrived_idle=not self._busy and not self._queue)
        pending.timer = loop.call_later(max(deadline - time.monotonic(), 0.0), self._expire, pending)
        self._queue.append(pending)
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        try:
            return await pending.future
        finally:
            pending.timer.cancel()
            if not pending.future.done():  # the caller went away (cancelled): skip it if still queued
                pending.future.cancel()

    def _expire(self, pending: _Pending) -> None:
        if not pending.started and not pending.future.done():
            self._reject(pending, "its deadline passed while it waited for a batch")

    def _reject(self, pending: _Pending, why: str) -> None:
        self._metrics.rejected.labels(api=self.name).inc()
        pending.future.set_exception(ServiceUnavailable(
            f"API `{self.name}` is overloaded: the request was not served because {why} "
            f"(max_latency_ms={self.max_latency * 1000:g}); retry later or raise max_latency_ms"
        ))

    async def _drain(self) -> None:
        while self._queue:
            batch = self._take()
            if batch:
                await self._run(batch)

    def _take(self) -> list[_Pending]:
        """Pick the next batch: compatible requests in arrival order, within size and every deadline."""
        now = time.monotonic()
        batch: list[_Pending] = []
        rows = 0
        earliest = float("inf")
        keep: collections.deque[_Pending] = collections.deque()
        while self._queue:
            pending = self._queue.popleft()
            if pending.future.done():
                continue
            if not batch:
                # A request that found the model idle is served whatever the prediction: its lateness
                # would not come from waiting, and serving it keeps the cost model learning.
                if not pending.arrived_idle and now + self.cost.predict(pending.rows) > pending.deadline:
                    self._reject(pending, "it could not finish within its deadline even on its own")
                    continue
            elif (
                pending.key != batch[0].key
                or rows + pending.rows > self.max_batch_size
                or now + self.cost.predict(rows + pending.rows) > min(earliest, pending.deadline)
            ):
                keep.append(pending)
                if rows + pending.rows > self.max_batch_size or pending.key == batch[0].key:
                    break  # stay in arrival order among compatible requests
                continue
            batch.append(pending)
            rows += pending.rows
            earliest = min(earliest, pending.deadline)
        keep.extend(self._queue)
        self._queue = keep
        return batch

    async def _run(self, batch: list[_Pending]) -> None:
        self._busy = True
        try:
            await self._call(batch)
        finally:
            self._busy = False

    async def _call(self, batch: list[_Pending]) -> None:
        for pending in batch:
            pending.started = True
        sizes = [p.rows for p in batch]
        total = sum(sizes)
        started = time.monotonic()
        try:
            merged = merge_requests([p.kwargs for p in batch], self.input_dim, self.shared_params)
            result = await self.call(merged)
            parts = split_result(result, sizes, self.output_dim, self.name)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                for pending in batch:
                    if not pending.future.done():
                        pending.future.cancel()
                raise
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        finally:
            elapsed = time.monotonic() - started
        self.cost.observe(total, elapsed)
        self._metrics.size.labels(api=self.name).observe(total)
        for pending, part in zip(batch, parts):
            if not pending.future.done():
                pending.future.set_result(part)



# --- environment: the caller's deadline and the metrics ---------------------------------------------


def caller_deadline() -> float | None:
    """The absolute ``time.monotonic()`` deadline of the request being served, if the app set one."""
    return request_deadline.get()


@dataclass
class _Metrics:
    size: Any
    rejected: Any


_METRICS: _Metrics | None = None


def batch_metrics() -> _Metrics:
    """The batch-size histogram and rejection counter (created once per process, default registry)."""
    global _METRICS
    if _METRICS is None:
        from prometheus_client import Counter, Histogram

        buckets = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, float("inf"))
        _METRICS = _Metrics(
            size=Histogram("bento_batch_size", "Rows per call of a batchable API", ["api"], buckets=buckets),
            rejected=Counter(
                "bento_batch_rejected", "Requests to a batchable API answered 503 to keep max_latency_ms",
                ["api"],
            ),
        )
    return _METRICS
