"""The replicas behind one service URL: every DNS answer of its host, used round-robin.

Docker Swarm (``endpoint_mode: dnsrr``) and Kubernetes headless Services answer a service name with one
address per running replica. :class:`Replicas` resolves the name at most every :data:`REFRESH` seconds
(sooner after a failure, since a replica that failed has usually been replaced), hands out the addresses
in turn, and gives each call the order in which to try them: the next replica first, then the others,
then a fresh resolution, until the call's deadline. A URL whose host is an IP address or ``localhost``,
or an ``https`` URL (whose certificate names the host), is one replica.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import socket
import threading
import time
from typing import Callable, Mapping
from urllib.parse import urlsplit

import httpx

from bento.core.errors import InvalidConfig

REFRESH = 1.0  # seconds a DNS answer is trusted
MAX_ROUNDS = 4  # passes over the replica list per call (each after a fresh resolution)

#: Failures that happen before the request reached a replica's application, so the call can go elsewhere.
RETRYABLE: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError,
                                          httpx.ReadError, httpx.WriteError)


Resolver = Callable[[str, int], list[str]]


def lookup(host: str, port: int) -> list[str]:
    """Every address DNS gives for ``host`` (the system resolver: /etc/hosts, Docker's embedded DNS...)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """A 503 with Retry-After: the replica did not run the call (starting, stopping, or full)."""
    return status == 503 and "retry-after" in headers


class Replicas:
    """Addresses of one service URL, resolved lazily and refreshed; thread-safe."""

    def __init__(self, url: str, resolve: Resolver | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidConfig(f"dependency URL {url!r} is not an http:// or https:// URL with a host")
        self.url = url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.host_header = parts.netloc.rsplit("@", 1)[-1]
        self.fixed = parts.scheme == "https" or _is_ip(self.host)
        self._resolve = resolve or lookup
        self._lock = threading.Lock()
        self._addresses: list[str] = [self.host] if self.fixed else []
        self._resolved_at = -1.0
        self._turn = itertools.count()

    # ---- resolution ----------------------------------------------------------------------------
    def _stale(self) -> bool:
        return not self.fixed and time.monotonic() - self._resolved_at > REFRESH

    def refresh(self) -> None:
        try:
            found = sorted(set(self._resolve(self.host, self.port)))
        except OSError:  # no replica registered right now (all restarting): keep the last answer
            found = []
        with self._lock:
            if found:
                self._addresses = found
            self._resolved_at = time.monotonic()

    async def refresh_async(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.refresh)

    def failed(self, address: str) -> None:
        """A call to ``address`` failed: resolve again before the next pass."""
        self._resolved_at = -1.0

    # ---- per call ------------------------------------------------------------------------------
    def _rotated(self) -> list[str]:
        with self._lock:
            addresses = list(self._addresses)
        if not addresses:
            return [self.host]
        start = next(self._turn) % len(addresses)
        return addresses[start:] + addresses[:start]

    def order(self, fresh: bool = False) -> list[str]:
        """The addresses to try for one pass of a call, the next replica in turn first."""
        if fresh or self._stale():
            self.refresh()
        return self._rotated()

    async def order_async(self, fresh: bool = False) -> list[str]:
        if fresh or self._stale():
            await self.refresh_async()
        return self._rotated()

    def url_for(self, address: str, route: str) -> str:
        host = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{host}:{self.port}{self.base_path}{route}"


def backoff(round_: int, until: float) -> float:
    """Seconds to wait before pass ``round_`` (1-based after the first), never past the deadline."""
    return max(0.0, min(0.1 * 2 ** round_, until - time.monotonic()))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
