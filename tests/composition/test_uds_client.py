"""The Unix-socket HTTP client behind remote dependencies, against a deliberately rude server."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Iterator

import pytest

from bento.runtime.uds_client import AsyncPool, SyncPool


@pytest.fixture
def one_shot_server(tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """Answers one request per connection, claims keep-alive, then hangs up (like an idle timeout)."""
    path = str(tmp_path / "rude.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    served: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += conn.recv(4096)
                served.append(len(served) + 1)
                if body == b"chunked":
                    conn.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                                 b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                else:
                    reply = b"echo:" + body
                    conn.sendall(b"HTTP/1.1 201 Created\r\ncontent-length: " + str(len(reply)).encode()
                                 + b"\r\n\r\n" + reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path, served
    finally:
        stop.set()
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=5)


def test_sync_pool_retries_a_connection_the_server_already_closed(one_shot_server: tuple[str, list[int]]) -> None:
    path, served = one_shot_server
    pool = SyncPool(path)
    try:
        first = pool.request("/x", {"content-type": "text/plain"}, b"one", timeout=5)
        second = pool.request("/x", {}, b"two", timeout=5)  # its pooled connection is dead: retried
        chunked = pool.request("/x", {}, b"chunked", timeout=5)
    finally:
        pool.close()
    assert (first.status, first.body) == (201, b"echo:one")
    assert second.body == b"echo:two"
    assert chunked.body == b"abcde"
    assert served == [1, 2, 3]  # each request processed exactly once


def test_async_pool_retries_a_connection_the_server_already_closed(one_shot_server: tuple[str, list[int]]) -> None:
    path, served = one_shot_server

    async def main() -> list[bytes]:
        pool = AsyncPool(path)
        try:
            return [(await pool.request("/x", {}, body, timeout=5)).body for body in (b"a", b"b", b"chunked")]
        finally:
            await pool.aclose()

    assert asyncio.run(main()) == [b"echo:a", b"echo:b", b"abcde"]
    assert served == [1, 2, 3]
