"""Worker recycling: a worker retires itself after ``traffic.max_requests`` API requests (plus a per-worker
random ``traffic.max_requests_jitter``) or once its resident memory exceeds ``traffic.max_memory``
(default: ``resources.memory`` divided by the number of workers). A leaking API or library then costs a
restart instead of the machine.

Retiring is graceful: the worker stops accepting connections, finishes the requests it has in flight,
runs its shutdown hooks and exits with :data:`RECYCLED`; the supervisor starts its replacement at once,
without the back-off it applies to crashes. With neither limit set there is no recycler at all (no
per-request cost).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from typing import Any, Callable

from bento.core.config import ServiceConfig, memory_bytes

logger = logging.getLogger("bento.server")
ASGIApp = Callable[[Any, Any, Any], Any]
RSS_INTERVAL = 1.0  # seconds between two looks at the worker's resident memory


def rss_bytes() -> int | None:
    """This process's resident set size (Linux ``/proc``), None where unknown."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MiB"


def memory_limit(config: ServiceConfig, workers: int) -> int | None:
    if config.traffic.max_memory is not None:
        return memory_bytes(config.traffic.max_memory)
    if config.resources.memory is None:
        return None
    try:
        return memory_bytes(config.resources.memory) // max(1, workers)
    except ValueError:
        logger.warning("resources.memory %r is not a memory size; workers are not recycled by memory",
                       config.resources.memory)
        return None


class Recycler:
    """Counts API requests (as a pure-ASGI middleware) and watches RSS; calls ``on_recycle(reason)`` once."""

    def __init__(self, app: ASGIApp, routes: set[str], max_requests: int | None, max_memory: int | None) -> None:
        self.app = app
        self.routes = frozenset(routes)
        self.max_requests = max_requests
        self.max_memory = max_memory
        self.served = 0
        self.reason: str | None = None
        self.on_recycle: Callable[[str], None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.max_requests is not None and scope["path"] in self.routes:
            self.served += 1
            if self.served == self.max_requests:
                self.recycle(f"served {self.served} API requests (traffic.max_requests)")
        await self.app(scope, receive, send)

    def recycle(self, reason: str) -> None:
        if self.reason is not None:
            return
        self.reason = reason
        logger.info("recycling this worker: it %s; finishing the requests in flight", reason)
        if self.on_recycle is not None:
            self.on_recycle(reason)

    def check_memory(self) -> None:
        if self.max_memory is None or self.reason is not None:
            return
        rss = rss_bytes()
        if rss is not None and rss > self.max_memory:
            self.recycle(f"uses {_mib(rss)} of memory, over the {_mib(self.max_memory)} of traffic.max_memory")

    async def _watch(self) -> None:
        while self.reason is None:
            await asyncio.sleep(RSS_INTERVAL)
            self.check_memory()

    def start(self) -> None:
        if self.max_memory is not None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def request_limit(config: ServiceConfig, rng: random.Random | None = None) -> int | None:
    """``max_requests`` plus this worker's share of jitter (0..``max_requests_jitter``)."""
    traffic = config.traffic
    if traffic.max_requests is None:
        return None
    return traffic.max_requests + (rng or random.SystemRandom()).randint(0, traffic.max_requests_jitter)


def recycler_for(app: ASGIApp, config: ServiceConfig, routes: set[str]) -> Recycler | None:
    """The recycler of one worker's app, or None when no limit is configured."""
    max_requests = request_limit(config)
    max_memory = memory_limit(config, config.worker_count())
    if max_requests is None and max_memory is None:
        return None
    return Recycler(app, routes, max_requests, max_memory)
