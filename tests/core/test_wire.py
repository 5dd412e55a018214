"""The consumer side of the protocol (``bento.core.wire``): argument binding, SSE parsing, error bodies,
downloads and the deadline check, as the public clients and the service-to-service proxy both use them."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import AsyncIterator

import pytest

from bento.core import wire
from bento.core.deadline import request_deadline
from bento.core.errors import RemoteError, ServiceUnavailable


def test_bind_names_positional_arguments_and_keeps_keywords() -> None:
    assert wire.bind("f", ("a", "b"), (1,), {"b": 2}) == {"a": 1, "b": 2}
    assert wire.bind("f", ("a", "b"), (), {"c": 3}) == {"c": 3}  # unknown names are the server's to refuse


def test_bind_refuses_what_python_would() -> None:
    with pytest.raises(TypeError, match=r"f\(\) takes 1 arguments but 2 were given"):
        wire.bind("f", ("a",), (1, 2), {})
    with pytest.raises(TypeError, match="multiple values for argument `a`"):
        wire.bind("f", ("a",), (1,), {"a": 2})


def _data(lines: list[str]) -> list[str]:
    return [e.data for e in wire.events(lines)]


def test_sse_events_end_at_blank_lines_and_join_data_lines() -> None:
    lines = ["data: one", "", "data: two", "data:  three", "", "data:four", ""]
    assert _data(lines) == ["one", "two\n three", "four"]  # only the first space after the colon goes


def test_sse_comments_unknown_fields_and_empty_events_are_skipped() -> None:
    lines = [": keep-alive", "", "id: 7", "retry: 10", "", "data: x", ": mid-event comment", "", "", ""]
    assert _data(lines) == ["x"]


def test_sse_event_names_and_empty_data() -> None:
    events = list(wire.events(["event: error", 'data: {"message": "m"}', "", "data", "", "data:", ""]))
    assert events[0] == wire.Event('{"message": "m"}', "error")
    assert [e.data for e in events[1:]] == ["", ""]  # a bare `data` field is an empty data line
    assert all(e.event == "message" for e in events[1:])


def test_sse_unterminated_last_event_is_dropped() -> None:
    assert _data(["data: complete", "", "data: cut off"]) == ["complete"]


def test_sse_async_lines_parse_the_same() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in ["data: a", "", ": c", "data: b", "data: c", ""]:
            yield line

    async def collect() -> list[str]:
        return [e.data async for e in wire.aevents(lines())]

    assert asyncio.run(collect()) == ["a", "b\nc"]


def test_our_json_error_body_gives_its_message_and_the_status() -> None:
    body = json.dumps({"error": "ValidationError", "message": "x: not a number", "detail": []}).encode()
    error = wire.remote_error(400, body)
    assert isinstance(error, RemoteError)
    assert error.message == "x: not a number" and error.status == 400


@pytest.mark.parametrize("body, expected", [
    (b"<html>bad gateway</html>", "<html>bad gateway</html>"),  # a proxy's page
    (b'["not", "an", "object"]', '["not", "an", "object"]'),     # JSON, but not our shape
    (b'{"error": "E"}', '{"error": "E"}'),                       # no message
    (b"\xff\xfe broken utf-8", "\ufffd\ufffd broken utf-8"),
    (b"", "Bad Gateway"),                                          # nothing: the reason phrase
])
def test_other_error_bodies_are_shown_as_text(body: bytes, expected: str) -> None:
    error = wire.remote_error(502, body, "Bad Gateway")
    assert error.message == expected and error.status == 502


def test_long_error_text_is_cut_and_empty_bodies_name_the_status() -> None:
    assert len(wire.error_message(500, b"x" * 10_000)) == wire.MAX_ERROR_TEXT
    assert wire.error_message(503, b"") == "HTTP 503"


def test_timed_out_is_a_504() -> None:
    error = wire.timed_out("svc.api")
    assert error.status == 504 and "svc.api did not answer in time" in error.message


def test_download_keeps_the_servers_name_but_not_its_folders(tmp_path: Path) -> None:
    saved = wire.save_download(b"abc", 'attachment; filename="../../etc/passwd"', "result", prefix="t-",
                               directory=str(tmp_path))
    assert saved.name == "passwd" and saved.parent.parent == tmp_path and saved.read_bytes() == b"abc"
    utf8 = wire.save_download(b"", "inline; filename*=UTF-8''caf%C3%A9.txt", "r", prefix="t-",
                              directory=str(tmp_path))
    assert utf8.name == "café.txt"
    for disposition in ("", "inline", 'inline; filename=".."'):
        assert wire.save_download(b"", disposition, "result", prefix="t-", directory=str(tmp_path)).name == "result"


def test_deadline_left_outside_and_inside_a_request() -> None:
    assert wire.deadline_left("x") is None
    token = request_deadline.set(time.monotonic() + 30)
    try:
        left = wire.deadline_left("x")
        assert left is not None and 0 < left <= 30
    finally:
        request_deadline.reset(token)
    token = request_deadline.set(time.monotonic() - 1)
    try:
        with pytest.raises(ServiceUnavailable, match="not calling svc.api: the request's deadline"):
            wire.deadline_left("svc.api")
    finally:
        request_deadline.reset(token)
