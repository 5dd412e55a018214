"""Helpers for tests that run the real CLI and real servers on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Sequence

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, cwd: str | Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real `bento` CLI in a subprocess (same interpreter as the tests)."""
    return subprocess.run(
        [sys.executable, "-m", "bento", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Server:
    def __init__(self, proc: subprocess.Popen[str], url: str, log: Path) -> None:
        self.proc = proc
        self.url = url
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(args: Sequence[str], cwd: str | Path, *, ready_timeout: float = 30, env: dict[str, str] | None = None,
          wait_ready: bool = True, port: int | None = None, host: str | None = None,
          command: Sequence[str] | None = None) -> Iterator[Server]:
    """Start `bento serve ARGS --port <free>` (or `COMMAND ARGS --port <free>`) and wait for /readyz;
    SIGTERM and reap on exit."""
    port = port or free_port()
    args = [*args, "--host", host] if host else list(args)
    log = Path(cwd) / f".serve-{host or '127.0.0.1'}-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*(command or [sys.executable, "-m", "bento", "serve"]), *args, "--port", str(port)],
            cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})}, start_new_session=True,
        )
    server = Server(proc, f"http://{host or '127.0.0.1'}:{port}", log)
    try:
        if wait_ready:
            deadline = time.monotonic() + ready_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}:\n{server.output()}")
                try:
                    if httpx.get(server.url + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not ready after {ready_timeout}s:\n{server.output()}")
                time.sleep(0.05)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
