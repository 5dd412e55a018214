"""The ``Host`` header check (``http.allowed_hosts``): a page on another site that resolves its own name to
127.0.0.1 (DNS rebinding) reaches a developer's ``localhost:3000`` with its own name in ``Host``; refusing
names the server was not meant to answer to closes that door.

Unset, the allowed names follow the address the server is bound to: on a loopback address only loopback
names (``localhost``, ``*.localhost``, ``127.0.0.1``, ``::1``), on any other address (``0.0.0.0`` in a
container) every name. ``/livez`` and ``/readyz`` answer whatever the ``Host``, so orchestrator probes
that use the pod's IP keep working.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Callable, Sequence

from bento.runtime import codec

ASGIApp = Callable[[Any, Any, Any], Any]
LOOPBACK_NAMES = ("localhost", "*.localhost", "127.0.0.1", "::1")
PROBES = frozenset(("/livez", "/readyz"))


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: bytes) -> str:
    """``example.com:3000`` → ``example.com``; ``[::1]:3000`` → ``::1``; lower case."""
    host = header.decode("latin-1").strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class HostPatterns:
    """Exact names, ``*.suffix`` wildcards, or ``*`` for any."""

    def __init__(self, patterns: Sequence[str]) -> None:
        cleaned = [p.strip().lower().strip("[]") for p in patterns]
        self.any = "*" in cleaned
        self.exact = frozenset(p for p in cleaned if not p.startswith("*."))
        self.suffixes = tuple(p[1:] for p in cleaned if p.startswith("*."))
        self.shown = ", ".join(patterns)

    def allows(self, name: str) -> bool:
        return self.any or name in self.exact or (bool(self.suffixes) and name.endswith(self.suffixes))


class HostGuard:
    """Pure-ASGI middleware: a request whose ``Host`` is not allowed gets 400 ``InvalidHost``."""

    def __init__(self, app: ASGIApp, allowed: Sequence[str] | None) -> None:
        self.app = app
        self.explicit = HostPatterns(allowed) if allowed is not None else None
        self._by_server: dict[Any, HostPatterns | None] = {}
        # The address the listening socket is bound to (the worker sets it). Unset (in-process tests), the
        # connection's local address stands in: behind 0.0.0.0 that may be 127.0.0.1 (a sidecar proxy),
        # which must not narrow what a server bound to every interface answers.
        self.bound: str | None = None
        self._verdicts: dict[bytes | None, bool] = {}  # Host header → allowed (a few names in practice)

    def patterns(self, server: Any) -> HostPatterns | None:
        if self.explicit is not None:
            return self.explicit
        address = self.bound if self.bound is not None else server[0] if server else None
        try:
            return self._by_server[address]
        except KeyError:
            found = HostPatterns(LOOPBACK_NAMES) if isinstance(address, str) and is_loopback(address) else None
            self._by_server[address] = found
            return found

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        patterns = self.patterns(scope.get("server"))
        if patterns is not None and scope["path"] not in PROBES:
            header = None
            for key, value in scope["headers"]:
                if key == b"host":
                    header = value
                    break
            allowed = self._verdicts.get(header)
            if allowed is None:
                allowed = patterns.allows(host_name(header) if header is not None else "")
                if len(self._verdicts) < 256:  # bounded: clients choose what they send
                    self._verdicts[header] = allowed
            if not allowed:
                shown = repr(host_name(header)) if header is not None else "(none)"
                await codec.send_error(send, 400, "InvalidHost",
                                       f"Host {shown} is not served here; allowed: {patterns.shown} "
                                       "(set http.allowed_hosts)")
                return
        await self.app(scope, receive, send)


def guard_hosts(app: ASGIApp, allowed: Sequence[str] | None) -> ASGIApp:
    """``app`` behind the ``Host`` check; ``["*"]`` switches it off (no middleware at all)."""
    if allowed is not None and "*" in allowed:
        return app
    return HostGuard(app, allowed)
