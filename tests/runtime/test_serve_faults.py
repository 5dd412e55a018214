"""`bento serve` under production faults: a supervisor killed with SIGKILL, slow clients, a wedged sync API,
a leaking API and worker recycling. Every test runs the real CLI on a free loopback port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from utils import serve


def write_service(directory: Path, body: str) -> None:
    (directory / "service.py").write_text(textwrap.dedent(body))


def wait_until(check: Any, timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
    return result


HELLO = """
    import os
    import bento

    @bento.service
    class Hello:
        @bento.api
        def pid(self) -> int:
            return os.getpid()
"""


# ---- 7. runtime directories of killed supervisors -------------------------------------------------
def test_the_next_start_removes_runtime_dirs_of_supervisors_killed_with_sigkill(tmp_path: Path) -> None:
    write_service(tmp_path, HELLO)
    temp = tmp_path / "t"
    temp.mkdir()
    env = {"TMPDIR": str(temp)}
    # A directory of a live process (this test) and one without an owner file are never touched.
    alive = temp / "bento-serve-alive"
    alive.mkdir()
    (alive / "owner").write_text(str(os.getpid()))
    foreign = temp / "bento-serve-unowned"
    foreign.mkdir()

    with serve(["service.py:Hello"], cwd=tmp_path, env=env) as first:
        dirs = {p.name for p in temp.glob("bento-serve-*")} - {alive.name, foreign.name}
        assert len(dirs) == 1
        killed = temp / dirs.pop()
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
    assert killed.is_dir()  # SIGKILL left it behind

    with serve(["service.py:Hello"], cwd=tmp_path, env=env) as second:
        assert not killed.exists()
        assert alive.is_dir() and foreign.is_dir()
        assert "removed 1 runtime directory of stopped servers" in second.output()
        mine = {p.name for p in temp.glob("bento-serve-*")} - {alive.name, foreign.name}
        assert len(mine) == 1
    assert not (temp / mine.pop()).exists()  # a clean stop removes its own


# ---- 5. slow clients -----------------------------------------------------------------------------
SLOW_CLIENTS = """
    import bento

    @bento.service(http={"header_read_timeout": 1.5, "body_read_timeout": 1.5})
    class Patient:
        @bento.api
        def echo(self, text: str) -> str:
            return text
"""


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096) == b"" or True  # EOF, or an error response followed by EOF
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_connections_that_never_finish_headers_or_body_are_closed(tmp_path: Path) -> None:
    write_service(tmp_path, SLOW_CLIENTS)
    with serve(["service.py:Patient"], cwd=tmp_path) as server:
        port = int(server.url.rsplit(":", 1)[1])
        silent: list[socket.socket] = []
        try:
            for index in range(200):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                if index % 2:  # half send part of their headers, half nothing at all
                    sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                silent.append(sock)
            stalled_body = socket.create_connection(("127.0.0.1", port), timeout=5)
            stalled_body.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 100\r\n\r\n{\"text\": ")
            silent.append(stalled_body)
            began = time.monotonic()
            # The server keeps answering while they hang.
            assert httpx.get(server.url + "/readyz", timeout=2).status_code == 200
            assert httpx.post(server.url + "/echo", json={"text": "hi"}, timeout=2).text == "hi"
            for sock in silent:
                sock.settimeout(max(0.1, began + 10 - time.monotonic()))
                assert _closed_by_server(sock), "a slow connection was still open after 10 s"
            assert httpx.get(server.url + "/readyz", timeout=2).status_code == 200
        finally:
            for sock in silent:
                sock.close()
        assert "Traceback" not in server.output()
