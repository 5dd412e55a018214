"""A minimal HTTP/1.1 client over a Unix socket, for calls between the services of one ``bento serve``.

Both ends are ours (uvicorn serving the internal app), so this speaks only what that needs: one request
at a time per connection, keep-alive, ``Content-Length`` or chunked bodies. It exists because a general
client (httpx) spends more time per call than the rest of a hop together; this one keeps a ``depends``
hop well under a millisecond. A sync pool (plain sockets, usable from any thread) and an asyncio pool
(one event loop) share the parsing. Streams still go through httpx (see ``bento.runtime.remote``).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from typing import Callable

MAX_IDLE = 64
_HOST = b"bento.internal"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class StaleConnection(Exception):
    """A kept-alive connection the server had already closed; the request was not processed."""


def encode_request(target: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {target} HTTP/1.1".encode(), b"host: " + _HOST, b"content-length: " + str(len(body)).encode()]
    lines += [f"{k}: {v}".encode("latin-1") for k, v in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ConnectionError(f"not an HTTP response: {status_line[:80]!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    return int(parts[1]), headers


def _keeps_alive(headers: dict[str, str]) -> bool:
    return headers.get("connection", "").lower() != "close"


class SyncPool:
    """Blocking requests on pooled connections to one Unix socket (thread-safe)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._idle: list[tuple[socket.socket, object]] = []
        self._lock = threading.Lock()
        self.closed = False

    def request(self, target: str, headers: dict[str, str], body: bytes, timeout: float | None) -> Response:
        data = encode_request(target, headers, body)
        while True:
            conn, reused = self._connection()
            try:
                response = self._exchange(conn, data, timeout, reused)
            except StaleConnection:
                _discard(conn)
                continue
            except BaseException:
                _discard(conn)
                raise
            self._release(conn, _keeps_alive(response.headers))
            return response

    def _connection(self) -> tuple[tuple[socket.socket, object], bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except BaseException:
            sock.close()
            raise
        return (sock, sock.makefile("rb")), False

    def _exchange(self, conn: tuple[socket.socket, object], data: bytes, timeout: float | None,
                  reused: bool) -> Response:
        sock, reader = conn
        sock.settimeout(timeout)
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            if reused:
                raise StaleConnection() from None
            raise
        readline: Callable[[], bytes] = reader.readline  # type: ignore[attr-defined]
        try:
            first = readline()
        except ConnectionResetError:
            # The server closed the idle connection as the request arrived: it was not processed.
            if reused:
                raise StaleConnection() from None
            raise
        if not first:
            if reused:
                raise StaleConnection()
            raise ConnectionError("the service closed the connection without answering")
        head = [first]
        while True:
            line = readline()
            if line in (b"\r\n", b"\n", b""):
                break
            head.append(line)
        status, headers = parse_head(b"".join(head).rstrip(b"\r\n"))
        read: Callable[[int], bytes] = reader.read  # type: ignore[attr-defined]
        if "content-length" in headers:
            body = read(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(read(size))
                readline()
            while readline() not in (b"\r\n", b"\n", b""):
                pass
            body = b"".join(chunks)
        else:
            body = read(-1)
            headers["connection"] = "close"
        return Response(status, headers, body)

    def _release(self, conn: tuple[socket.socket, object], keep: bool) -> None:
        with self._lock:
            if keep and not self.closed and len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        _discard(conn)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            _discard(conn)


def _discard(conn: tuple[socket.socket, object]) -> None:
    """Close a connection's reader and socket: the reader from ``makefile`` keeps the fd open otherwise."""
    conn[1].close()  # type: ignore[attr-defined]
    conn[0].close()


class AsyncPool:
    """The same on one asyncio event loop."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, target: str, headers: dict[str, str], body: bytes, timeout: float | None) -> Response:
        data = encode_request(target, headers, body)
        async with asyncio.timeout(timeout):
            while True:
                reused = bool(self._idle)
                reader, writer = self._idle.pop() if reused else await asyncio.open_unix_connection(self.path)
                try:
                    response = await self._exchange(reader, writer, data, reused)
                except StaleConnection:
                    writer.close()
                    continue
                except BaseException:
                    writer.close()
                    raise
                if _keeps_alive(response.headers) and len(self._idle) < MAX_IDLE:
                    self._idle.append((reader, writer))
                else:
                    writer.close()
                return response

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes,
                        reused: bool) -> Response:
        try:
            writer.write(data)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
            if reused and not getattr(exc, "partial", b""):
                raise StaleConnection() from None
            raise ConnectionError("the service closed the connection without answering") from exc
        status, headers = parse_head(head[:-4])
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
                chunks.append(await reader.readexactly(size))
                await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            body = b"".join(chunks)
        else:
            body = await reader.read()
            headers["connection"] = "close"
        return Response(status, headers, body)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
