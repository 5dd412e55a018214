"""Prometheus metrics per route: request count (route, method, status), latency histogram and in-flight
gauge.

Under ``bento serve`` the supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` and every worker writes its values
there; ``/metrics`` then sums all workers. Without it the registry is local to the app. With
``metrics.enabled: false`` the app gets :class:`NullMetrics`, which wraps nothing and serves no page.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from bento.core.config import Metrics as MetricsConfig

ASGIApp = Callable[[Any, Any, Any], Any]
DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class NullMetrics:
    """Metrics switched off: handlers are left as they are and there is no ``/metrics`` page."""

    enabled = False

    def wrap(self, route: str, app: ASGIApp) -> ASGIApp:
        return app

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

    def wrap(self, route: str, app: ASGIApp) -> ASGIApp:
        return _Measured(app, route, self)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if self.multiprocess_dir:
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        assert self.registry is not None
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Measured:
    """Pure-ASGI wrapper of one route's handler."""

    __slots__ = ("app", "route", "metrics", "latency", "in_flight", "counters")

    def __init__(self, app: ASGIApp, route: str, metrics: PrometheusMetrics) -> None:
        self.app = app
        self.route = route
        self.metrics = metrics
        self.latency = metrics.latency.labels(route)
        self.in_flight = metrics.in_flight.labels(route)
        self.counters: dict[tuple[str, int], Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        status = 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.in_flight.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.latency.observe(time.perf_counter() - start)
            self.in_flight.dec()
            key = (scope["method"], status)
            counter = self.counters.get(key)
            if counter is None:
                counter = self.counters[key] = self.metrics.requests.labels(self.route, key[0], str(status))
            counter.inc()


def create_metrics(config: MetricsConfig) -> NullMetrics | PrometheusMetrics:
    return PrometheusMetrics(config) if config.enabled else NullMetrics()
