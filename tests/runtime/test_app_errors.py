"""Bad requests, user exceptions, limits, timeouts and overload: each answered with the JSON error body,
and none of them harms the worker."""

from __future__ import annotations

import logging
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from appclient import serving

import bento
from bento.errors import NotFound
from bento.runtime.state import LocalState

gate = threading.Event()
entered = threading.Event()
finished = threading.Event()


@bento.service(traffic={"timeout": 0.3}, http={"max_body_size": 1024})
class Strict:
    @bento.api
    def greet(self, name: str, times: int = 1) -> str:
        return " ".join([f"hi {name}"] * times)

    @bento.api
    def boom(self) -> str:
        raise ValueError("the model exploded")

    @bento.api
    async def lookup(self, key: str) -> str:
        raise NotFound(f"no such key {key}")

    @bento.api
    def slow(self) -> str:
        entered.set()
        gate.wait(10)
        finished.set()
        return "done"

    @bento.api
    async def slow_async(self) -> str:
        import asyncio

        await asyncio.sleep(10)
        return "never"


@pytest.fixture(autouse=True)
def _reset_events() -> Any:
    for event in (gate, entered, finished):
        event.clear()
    yield
    gate.set()


def test_validation_errors_name_the_field() -> None:
    with serving(Strict) as client:
        r = client.post("/greet", json={"times": 2})
        assert r.status_code == 400
        body = r.json()
        assert body["error"] == "ValidationError"
        assert body["detail"][0]["field"] == "name"
        assert "name" in body["message"]
        r = client.post("/greet", json={"name": "a", "times": "many"})
        assert r.json()["detail"][0]["field"] == "times"
        r = client.post("/greet", json={"name": "a", "tims": 2})  # unknown fields are dropped, as in BentoML
        assert r.status_code == 200
        r = client.post("/greet", content=b'{"name": ', headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert "malformed JSON" in r.json()["message"]
        r = client.post("/greet", json=["a"])
        assert r.status_code == 400
        assert "JSON object" in r.json()["message"]


def test_unknown_route_and_wrong_method() -> None:
    with serving(Strict) as client:
        r = client.get("/nowhere")
        assert (r.status_code, r.json()["error"]) == (404, "NotFound")
        r = client.get("/greet")
        assert (r.status_code, r.json()["error"]) == (405, "MethodNotAllowed")
        assert r.headers["allow"] == "POST"
        assert client.post("/readyz").status_code == 405


def test_body_over_max_body_size_is_413_declared_or_streamed() -> None:
    with serving(Strict) as client:
        r = client.post("/greet", json={"name": "x" * 2000})
        assert r.status_code == 413
        assert r.json()["error"] == "BodyTooLarge"

        def chunks() -> Any:  # no content-length: counted while reading
            for _ in range(5):
                yield b"x" * 400

        r = client.post("/greet", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert client.post("/greet", json={"name": "ok"}).text == "hi ok"


def test_unsupported_and_internal_content_types_are_415_on_the_public_app() -> None:
    with serving(Strict) as client:
        r = client.post("/greet", content=b"name=x", headers={"content-type": "text/csv"})
        assert r.status_code == 415
        r = client.post("/greet", content=pickle.dumps({"name": "x"}),
                        headers={"content-type": "application/vnd.bento.pickle"})
        assert r.status_code == 415
        assert r.json()["error"] == "UnsupportedMediaType"


def test_user_exception_is_500_with_type_and_message_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bento.server"), serving(Strict) as client:
        r = client.post("/boom", json={})
        assert r.status_code == 500
        assert r.json() == {"error": "ValueError", "message": "the model exploded"}
        assert client.post("/greet", json={"name": "still alive"}).status_code == 200
    assert any(rec.exc_info and "the model exploded" in str(rec.exc_info[1]) for rec in caplog.records)


def test_bento_error_uses_its_http_status() -> None:
    with serving(Strict) as client:
        r = client.post("/lookup", json={"key": "k"})
        assert r.status_code == 404
        assert r.json() == {"error": "NotFound", "message": "no such key k"}


def test_timeout_is_504_and_the_slot_stays_taken_until_the_thread_finishes() -> None:
    with serving(Strict, LocalState(max_concurrency=1)) as client:
        r = client.post("/slow", json={})
        assert r.status_code == 504
        assert r.json()["error"] == "Timeout"
        assert "traffic.timeout" in r.json()["message"]
        # the sync thread is still running: its slot is not free yet
        r = client.post("/greet", json={"name": "a"})
        assert r.status_code == 503
        gate.set()
        assert finished.wait(5)
        deadline = time.monotonic() + 5
        while (r := client.post("/greet", json={"name": "a"})).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert r.status_code == 200


def test_async_timeout_is_504_and_frees_the_slot() -> None:
    with serving(Strict, LocalState(max_concurrency=1)) as client:
        assert client.post("/slow_async", json={}).status_code == 504
        assert client.post("/greet", json={"name": "a"}).status_code == 200


def test_overload_is_503_with_retry_after_and_health_is_exempt() -> None:
    with serving(Strict, LocalState(max_concurrency=1)) as client:
        results: list[int] = []
        # a long call holds the only slot (its 504 comes later; the thread keeps the slot until released)
        worker = threading.Thread(target=lambda: results.append(client.post("/slow", json={}).status_code))
        worker.start()
        try:
            assert entered.wait(5)
            r = client.post("/greet", json={"name": "b"})
            assert r.status_code == 503
            assert r.headers["retry-after"] == "1"
            assert r.json()["error"] == "ServiceUnavailable"
            assert client.get("/readyz").status_code == 200
            assert client.get("/livez").status_code == 200
            assert client.get("/metrics").status_code == 200
            assert client.get("/docs.json").status_code == 200
        finally:
            gate.set()
            worker.join(10)
        assert results and results[0] in (200, 504)  # depends on how fast the checks above ran


@bento.service(traffic={"timeout": 30})
class Deadlines:
    @bento.api
    def sync_left(self) -> float:
        from bento.core.deadline import remaining

        left = remaining()
        assert left is not None
        return left

    @bento.api
    async def async_left(self) -> float:
        from bento.core.deadline import remaining

        left = remaining()
        assert left is not None
        return left


def test_request_deadline_is_visible_in_sync_and_async_apis() -> None:
    with serving(Deadlines) as client:
        assert 0 < client.post("/sync_left", json={}).json() <= 30
        assert 0 < client.post("/async_left", json={}).json() <= 30


def test_internal_app_speaks_pickle_and_honours_the_caller_timeout() -> None:
    with serving(Deadlines, internal=True) as client:
        r = client.post("/sync_left", content=pickle.dumps({}),
                        headers={"content-type": "application/vnd.bento.pickle",
                                 "accept": "application/vnd.bento.pickle", "x-bento-timeout": "2.5"})
        assert r.headers["content-type"] == "application/vnd.bento.pickle"
        assert 0 < pickle.loads(r.content) <= 2.5
        r = client.post("/async_left", json={}, headers={"x-bento-timeout": "1"})
        assert r.headers["content-type"] == "application/json"
        assert 0 < r.json() <= 1
    with serving(Strict, internal=True) as client:
        r = client.post("/greet", content=pickle.dumps({"name": "p", "times": 2}),
                        headers={"content-type": "application/vnd.bento.pickle",
                                 "accept": "application/vnd.bento.pickle"})
        assert pickle.loads(r.content) == "hi p hi p"
        r = client.post("/greet", content=pickle.dumps({"nme": "p"}),
                        headers={"content-type": "application/vnd.bento.pickle"})
        assert r.status_code == 400
        assert r.json()["detail"][0]["field"] in ("name", "nme")


def test_public_app_lets_the_caller_timeout_header_only_shorten_its_limit() -> None:
    """A caller in another container (`bento deploy`) sends its remaining deadline over the public port;
    a header can shorten the service's traffic.timeout, never extend it."""
    with serving(Deadlines) as client:
        assert 0 < client.post("/sync_left", json={}, headers={"x-bento-timeout": "1"}).json() <= 1
        assert 1 < client.post("/sync_left", json={}, headers={"x-bento-timeout": "9999"}).json() <= 30
        assert 1 < client.post("/sync_left", json={}, headers={"x-bento-timeout": "soon"}).json() <= 30


@bento.service(traffic={"timeout": 0.2})
class Scratch:
    @bento.api
    def slow_write(self, ctx: bento.Context) -> str:
        folder = Path(ctx.temp_dir)
        entered.set()
        gate.wait(10)
        (folder / "late.txt").write_text("still mine")  # raises if the folder was removed at the 504
        finished.set()
        return str(folder)


def test_temp_dir_of_a_timed_out_sync_call_lives_until_the_thread_finishes() -> None:
    with serving(Scratch) as client:
        assert client.post("/slow_write", json={}).status_code == 504
        gate.set()
        assert finished.wait(5)  # writing into its temp dir after the 504 did not fail
