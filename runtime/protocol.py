"""uvicorn's HTTP protocol with read timeouts, so slow or silent clients cannot hold connections open.

* ``http.header_read_timeout``: a connection must finish a request's headers within this many seconds of
  opening (or of the request's first byte on a kept-alive connection); otherwise it is closed.
* ``http.body_read_timeout``: while a request body is being read, a pause longer than this closes the
  connection (the API sees the client gone). Time the app itself spends not reading does not count.

Idle kept-alive connections are uvicorn's own ``timeout_keep_alive``. A request already being handled is
never cut by these timers.
"""

from __future__ import annotations

import asyncio
from typing import Any


class ReadTimeouts:
    """Mixin over a uvicorn HTTP protocol (httptools or h11): both create ``self.cycle`` when a request's
    headers are complete and clear ``cycle.more_body`` when its body is, which is all this needs."""

    header_timeout = 5.0
    body_timeout = 30.0
    _read_timer: asyncio.TimerHandle | None = None
    cycle: Any
    loop: Any
    flow: Any
    transport: Any

    def _arm(self, delay: float) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer = self.loop.call_later(delay, self._expired)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _expired(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        running = cycle is not None and not cycle.response_complete
        if running and cycle.more_body:  # waiting for body bytes
            if self.flow.read_paused:  # the app is not reading yet: not the client's fault
                self._arm(self.body_timeout)
                return
        elif running:  # a pipelined request's headers wait behind a running one
            self._arm(self.header_timeout)
            return
        self.transport.close()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        reading_body = before is not None and before.more_body and not before.response_complete
        super().data_received(data)  # type: ignore[misc]
        cycle = self.cycle
        if cycle is not before or reading_body:  # headers just completed, or body bytes came in
            if cycle is not None and cycle.more_body and not cycle.response_complete:
                self._arm(self.body_timeout)
            else:
                self._disarm()
        elif self._read_timer is None and not self.transport.is_closing():
            self._arm(self.header_timeout)  # the first bytes of a new request: its headers are due


def protocol_class(header_timeout: float, body_timeout: float) -> type[asyncio.Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)``: uvicorn's choice (httptools when installed,
    else h11) with :class:`ReadTimeouts`."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    return type("TimedHTTPProtocol", (ReadTimeouts, AutoHTTPProtocol),
                {"header_timeout": header_timeout, "body_timeout": body_timeout})
