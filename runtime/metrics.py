"""Prometheus metrics per route: request count (route, method, status), latency histogram and in-flight
gauge.

Under ``bento serve`` the supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` and every worker writes its values
there; ``/metrics`` then sums all workers. Without it the registry is local to the app. With
``metrics.enabled: false`` the app gets :class:`NullMetrics`, which wraps nothing and serves no page.

Each request is counted in plain Python numbers of its route (a few hundred nanoseconds); the numbers go
into prometheus_client's values (a lock and an mmap write each, in multiprocess mode) at most every
``FLUSH_SECONDS`` and before this worker renders ``/metrics``. So another worker's page may lag by that
much, and the in-flight gauge is sampled at each flush rather than moved per request.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import time
from typing import Any, Callable

from bento.core.config import Metrics as MetricsConfig

ASGIApp = Callable[[Any, Any, Any], Any]
FLUSH_SECONDS = 0.25
DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class NullMetrics:
    """Metrics switched off: handlers are left as they are and there is no ``/metrics`` page."""

    enabled = False

    def wrap(self, route: str, app: ASGIApp) -> ASGIApp:
        return app

    def flush(self) -> None:
        pass

    def render(self) -> tuple[bytes, str]:
        raise LookupError("metrics are disabled")


class PrometheusMetrics:
    enabled = True

    def __init__(self, config: MetricsConfig) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        registry = None if self.multiprocess_dir else CollectorRegistry()
        self.registry = registry
        ns = config.namespace
        self.requests = Counter("request", "HTTP requests answered", ["route", "method", "status"],
                                namespace=ns, registry=registry)
        self.latency = Histogram("request_duration_seconds", "Time to answer an HTTP request", ["route"],
                                 namespace=ns, registry=registry,
                                 buckets=tuple(config.duration_buckets or DEFAULT_BUCKETS))
        gauge_options: dict[str, Any] = {"multiprocess_mode": "livesum"} if self.multiprocess_dir else {}
        self.in_flight = Gauge("request_in_progress", "HTTP requests being answered", ["route"],
                               namespace=ns, registry=registry, **gauge_options)
        self.routes: list[_Measured] = []
        self._flush_at: asyncio.TimerHandle | None = None

    def wrap(self, route: str, app: ASGIApp) -> ASGIApp:
        measured = _Measured(app, route, self)
        self.routes.append(measured)
        return measured

    def schedule_flush(self) -> None:
        if self._flush_at is None:
            try:
                self._flush_at = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
            except RuntimeError:  # no loop (a direct call outside a server): count now
                self.flush()

    def flush(self) -> None:
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        for route in self.routes:
            route.flush()

    def render(self) -> tuple[bytes, str]:
        self.flush()
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if self.multiprocess_dir:
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        assert self.registry is not None
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Measured:
    """Pure-ASGI wrapper of one route's handler; counts locally, :meth:`flush` publishes."""

    __slots__ = ("app", "route", "metrics", "latency", "in_flight_gauge", "counters", "bounds", "pending",
                 "bucket_counts", "latency_sum", "observed", "in_flight", "published_in_flight")

    def __init__(self, app: ASGIApp, route: str, metrics: PrometheusMetrics) -> None:
        self.app = app
        self.route = route
        self.metrics = metrics
        self.latency = metrics.latency.labels(route)
        self.in_flight_gauge = metrics.in_flight.labels(route)
        self.counters: dict[tuple[str, int], Any] = {}
        # prometheus_client has no "observe many"; its histogram keeps a sum and one value per bucket.
        fast = hasattr(self.latency, "_buckets") and hasattr(self.latency, "_sum") and \
            hasattr(self.latency, "_upper_bounds")
        self.bounds: list[float] | None = list(self.latency._upper_bounds) if fast else None
        self.pending: dict[tuple[str, int], int] = {}
        self.bucket_counts = [0] * len(self.bounds or ())
        self.latency_sum = 0.0
        self.observed: list[float] = []  # only without the fast path
        self.in_flight = 0
        self.published_in_flight = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        status = 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.in_flight += 1
        self.metrics.schedule_flush()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            took = time.perf_counter() - start
            self.in_flight -= 1
            if self.bounds is not None:
                self.bucket_counts[bisect.bisect_left(self.bounds, took)] += 1
                self.latency_sum += took
            else:
                self.observed.append(took)
            key = (scope["method"], status)
            self.pending[key] = self.pending.get(key, 0) + 1

    def flush(self) -> None:
        if self.pending:
            pending, self.pending = self.pending, {}
            for key, count in pending.items():
                counter = self.counters.get(key)
                if counter is None:
                    counter = self.counters[key] = self.metrics.requests.labels(self.route, key[0], str(key[1]))
                counter.inc(count)
        if self.bounds is not None:
            if self.latency_sum or any(self.bucket_counts):
                counts, self.bucket_counts = self.bucket_counts, [0] * len(self.bounds)
                self.latency._sum.inc(self.latency_sum)
                self.latency_sum = 0.0
                for value, count in zip(self.latency._buckets, counts):
                    if count:
                        value.inc(count)
        else:
            observed, self.observed = self.observed, []
            for took in observed:
                self.latency.observe(took)
        if self.in_flight != self.published_in_flight:
            self.published_in_flight = self.in_flight
            self.in_flight_gauge.set(self.in_flight)


def create_metrics(config: MetricsConfig) -> NullMetrics | PrometheusMetrics:
    return PrometheusMetrics(config) if config.enabled else NullMetrics()
