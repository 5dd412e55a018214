"""A closed-loop HTTP/1.1 load generator in plain Python, for machines without `wrk` (the GPU box).

`run(host, port, request, connections, duration, processes)` opens `connections` keep-alive connections
spread over `processes` forked processes (uvloop when installed); each connection sends the same raw
request, reads the whole response (Content-Length framing), and sends it again at once. Returns
requests/s, latency percentiles and the count of non-2xx answers. The client's own cost is a few tens of
microseconds of a core per request, so give it enough processes to stay ahead of the server.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import time
from typing import Any


def http_request(path: str, body: bytes, headers: dict[str, str], host: str = "127.0.0.1") -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection(asyncio.Protocol):
    def __init__(self, request: bytes, stop_at: float, latencies: list[float], counts: list[int],
                 done: asyncio.Future[None]) -> None:
        self.request = request
        self.stop_at = stop_at
        self.latencies = latencies
        self.counts = counts  # [ok, errors]
        self.done = done
        self.buffer = bytearray()
        self.transport: Any = None
        self.sent = 0.0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        self.sent = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            start = head.find(b"content-length:")
            length = int(head[start + 15: head.find(b"\r\n", start) if head.find(b"\r\n", start) > 0 else None]) \
                if start >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            status = head[9:12]
            del self.buffer[: end + 4 + length]
            now = time.perf_counter()
            self.latencies.append(now - self.sent)
            self.counts[0 if status.startswith(b"2") else 1] += 1
            if now >= self.stop_at:
                self.transport.close()
                return
            self._send()

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def _factory(request: bytes, stop_at: float, latencies: list[float], counts: list[int],
             done: asyncio.Future[None]) -> Any:
    return lambda: _Connection(request, stop_at, latencies, counts, done)


async def _drive(host: str, port: int, request: bytes, connections: int, duration: float
                 ) -> tuple[list[float], list[int]]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    counts = [0, 0]
    stop_at = time.perf_counter() + duration
    waiters = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(_factory(request, stop_at, latencies, counts, done), host, port)
        waiters.append(done)
    await asyncio.wait_for(asyncio.gather(*waiters), duration + 120)
    return latencies, counts


def _worker(args: tuple[str, int, bytes, int, float, Any]) -> None:
    host, port, request, connections, duration, queue = args
    try:
        import uvloop

        result = uvloop.run(_drive(host, port, request, connections, duration))
    except ImportError:
        result = asyncio.run(_drive(host, port, request, connections, duration))
    latencies, counts = result
    step = max(1, len(latencies) // 20000)  # a sample is enough for percentiles
    queue.put((latencies[::step], len(latencies), counts))


def run(host: str, port: int, request: bytes, connections: int, duration: float, processes: int = 0
        ) -> dict[str, float]:
    processes = processes or min(connections, max(1, (os.cpu_count() or 2) // 2))
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    procs = [ctx.Process(target=_worker, args=((host, port, request, share, duration, queue),))
             for share in shares if share]
    began = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=duration + 180) for _ in procs]
    elapsed = time.perf_counter() - began
    for proc in procs:
        proc.join()
    sample = sorted(x for r in results for x in r[0])
    total = sum(r[1] for r in results)
    errors = sum(r[2][1] for r in results)

    def pct(p: float) -> float:
        return sample[min(len(sample) - 1, int(p * len(sample)))] * 1000 if sample else float("nan")

    del elapsed  # includes process start-up and connecting; the loops themselves ran `duration`
    return {"rps": total / duration, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            "mean_ms": statistics.fmean(sample) * 1000 if sample else float("nan"), "requests": total,
            "errors": errors}
