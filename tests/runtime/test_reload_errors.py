"""The broken-edit state of `bento serve --reload`: one line of error, and a 503 for every request."""

from __future__ import annotations

import select
import socket
import threading
from pathlib import Path

import httpx

from bento.core.errors import InvalidConfig
from bento.runtime.reload import answer_unavailable, one_line_error


def test_one_line_error_points_at_the_users_frame(tmp_path: Path) -> None:
    source = tmp_path / "service.py"
    source.write_text("x = 1\ny = undefined_name\n")
    try:
        exec(compile(source.read_text(), str(source), "exec"), {})
    except NameError as exc:
        line = one_line_error(exc, tmp_path)
    assert line == "service.py:2: NameError: name 'undefined_name' is not defined"
    assert one_line_error(InvalidConfig("no service `Ech`;\n did you mean `Echo`?")) == \
        "no service `Ech`; did you mean `Echo`?"


def test_every_pending_request_gets_503_with_the_message() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    answers: list[httpx.Response] = []

    def call(method: str, path: str) -> None:
        answers.append(httpx.request(method, url + path, json={"text": "x" * 100_000}, timeout=10))

    clients = [threading.Thread(target=call, args=m) for m in (("GET", "/readyz"), ("POST", "/echo"))]
    for t in clients:
        t.start()
    while any(t.is_alive() for t in clients):
        select.select([listener], [], [], 0.05)
        answer_unavailable(listener, "cannot load the service after a change: boom")
    listener.close()
    assert sorted(a.status_code for a in answers) == [503, 503]
    assert all(a.json()["detail"] == "cannot load the service after a change: boom" for a in answers)
    assert all(a.headers["retry-after"] == "1" for a in answers)
