"""Inputs and outputs of APIs through the worker app: every supported type, files, streams, Context."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any, AsyncGenerator, Iterator

import numpy as np
from appclient import serving
from pydantic import BaseModel

import bento
from bento.validators import ContentType, DType, Shape


class Point(BaseModel):
    x: float
    y: float
    label: str = "origin"


@bento.service
class Types:
    @bento.api
    def scalars(self, s: str, i: int, f: float, b: bool, opt: int = 7) -> dict[str, Any]:
        return {"s": s, "i": i, "f": f, "b": b, "opt": opt}

    @bento.api
    async def containers(self, items: list[int], table: dict[str, list[str]]) -> dict[str, Any]:
        return {"total": sum(items), "keys": sorted(table)}

    @bento.api
    def model(self, p: Point) -> Point:
        return Point(x=p.y, y=p.x, label=p.label.upper())

    @bento.api
    def count(self, items: list[str]) -> int:
        return len(items)

    @bento.api
    def ratio(self, a: float, b: float) -> float:
        return a / b

    @bento.api
    def flag(self, value: int) -> bool:
        return value > 0

    @bento.api
    def matvec(
        self,
        m: Annotated[np.ndarray, Shape((-1, 3)), DType("float32")],
        v: Annotated[np.ndarray, Shape((3,)), DType("float32")],
    ) -> np.ndarray:
        assert m.dtype == np.float32
        return m @ v

    @bento.api
    def untyped(self, n: int):  # type: ignore[no-untyped-def]
        return {"arr": np.arange(n)}


def test_scalars_defaults_and_json_results() -> None:
    with serving(Types) as client:
        r = client.post("/scalars", json={"s": "a", "i": 1, "f": 1.5, "b": True})
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {"s": "a", "i": 1, "f": 1.5, "b": True, "opt": 7}
        assert client.post("/count", json={"items": ["a", "b"]}).json() == 2
        assert client.post("/ratio", json={"a": 1, "b": 4}).json() == 0.25
        assert client.post("/flag", json={"value": 3}).json() is True


def test_lists_dicts_and_pydantic_models() -> None:
    with serving(Types) as client:
        r = client.post("/containers", json={"items": [1, 2, 3], "table": {"b": ["x"], "a": []}})
        assert r.json() == {"total": 6, "keys": ["a", "b"]}
        r = client.post("/model", json={"p": {"x": 1, "y": 2, "label": "pt"}})
        assert r.json() == {"x": 2.0, "y": 1.0, "label": "PT"}


def test_ndarray_in_and_out_with_shape_and_dtype() -> None:
    with serving(Types) as client:
        r = client.post("/matvec", json={"m": [[1, 0, 0], [0, 2, 0]], "v": [1, 1, 1]})
        assert r.status_code == 200
        assert r.json() == [1.0, 2.0]
        r = client.post("/matvec", json={"m": [[1, 0], [0, 2]], "v": [1, 1, 1]})
        assert r.status_code == 400
        assert r.json()["detail"][0]["field"] == "m"
        assert "shape" in r.json()["detail"][0]["message"]
        assert client.post("/untyped", json={"n": 3}).json() == {"arr": [0, 1, 2]}


@bento.service
class Files:
    @bento.api
    def thumbnail(self, image: Annotated[Path, ContentType("image/*")], scale: int = 2,
                  ctx: bento.Context = None) -> Annotated[Path, ContentType("image/png")]:  # type: ignore[assignment]
        assert image.parent.parent == Path(ctx.temp_dir)
        out = Path(ctx.temp_dir) / "out.png"
        out.write_bytes(image.read_bytes() * scale)
        return out

    @bento.api
    def size(self, files: list[Path], note: str) -> dict[str, Any]:
        return {"sizes": [f.stat().st_size for f in files], "note": note}

    @bento.api
    def checksum(self, data: bytes, seed: int = 0) -> bytes:
        return bytes((sum(data) + seed) % 256 for _ in range(3))

    @bento.api
    def report(self, name: str) -> Path:
        path = Path(os.environ["BENTO_TEST_DIR"]) / f"{name}.csv"
        path.write_text("a,b\n1,2\n")
        return path


def test_path_upload_and_file_response(tmp_path: Path) -> None:
    with serving(Files) as client:
        r = client.post("/thumbnail", files={"image": ("cat.png", b"\x89PNG", "image/png")}, data={"scale": "3"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/png"
        assert r.content == b"\x89PNG" * 3
        r = client.post("/thumbnail", files={"image": ("notes.txt", b"hello", "text/plain")})
        assert r.status_code == 400
        assert r.json()["detail"][0]["field"] == "image"
        assert "image/*" in r.json()["message"]


def test_multiple_files_and_json_decoded_form_fields() -> None:
    with serving(Files) as client:
        r = client.post("/size", files=[("files", ("a.bin", b"12", "application/octet-stream")),
                                         ("files", ("b.bin", b"12345", "application/octet-stream"))],
                        data={"note": "42"})
        assert r.json() == {"sizes": [2, 5], "note": "42"}


def test_bytes_in_and_out() -> None:
    with serving(Files) as client:
        r = client.post("/checksum", files={"data": ("d", b"\x01\x02", "application/octet-stream")},
                        data={"seed": "1"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.content == b"\x04\x04\x04"


def test_file_result_gets_content_type_from_its_name(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("BENTO_TEST_DIR", str(tmp_path))
    with serving(Files) as client:
        r = client.post("/report", json={"name": "q1"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert r.text == "a,b\n1,2\n"


@bento.service
class Streams:
    @bento.api
    def words(self, text: str) -> Iterator[str]:
        for word in text.split():
            yield word + " "

    @bento.api
    async def ticks(self, n: int) -> AsyncGenerator[dict[str, int], None]:
        for i in range(n):
            await asyncio.sleep(0)
            yield {"i": i}

    @bento.api
    def lines(self) -> Iterator[str]:
        yield "one\ntwo"


def test_sync_generator_streams_raw_chunks() -> None:
    with serving(Streams) as client:
        with client.stream("POST", "/words", json={"text": "a b c"}) as r:
            assert r.headers["content-type"].startswith("text/plain")
            chunks = list(r.iter_text())
        assert "".join(chunks) == "a b c "


def test_async_generator_streams_json_lines_and_sse() -> None:
    with serving(Streams) as client:
        r = client.post("/ticks", json={"n": 3})
        assert r.text == '{"i":0}\n{"i":1}\n{"i":2}\n'
        r = client.post("/ticks", json={"n": 2}, headers={"accept": "text/event-stream"})
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.text == 'data: {"i":0}\n\ndata: {"i":1}\n\n'
        r = client.post("/lines", json={}, headers={"accept": "text/event-stream"})
        assert r.text == "data: one\ndata: two\n\n"


@bento.service
class WithContext:
    @bento.api
    def login(self, user: str, ctx: bento.Context) -> str:
        ctx.state["last_user"] = user
        ctx.response.status_code = 201
        ctx.response.headers.append("X-Trace", ctx.request.headers.get("x-request", "none"))
        ctx.response.cookies.append(bento.Cookie("session", user + "-token", max_age=60, httponly=True))
        return "welcome"

    @bento.api
    async def whoami(self, context: bento.Context) -> dict[str, Any]:
        return {"user": context.state.get("last_user"), "cookie": context.request.cookies.get("session")}

    @bento.api
    def scratch(self, ctx: bento.Context) -> str:
        path = Path(ctx.temp_dir) / "work.txt"
        path.write_text("x")
        return ctx.temp_dir


def test_context_sets_status_headers_cookies_and_shares_state() -> None:
    with serving(WithContext) as client:
        r = client.post("/login", json={"user": "ada"}, headers={"x-request": "r-1"})
        assert r.status_code == 201
        assert r.text == "welcome"
        assert r.headers["x-trace"] == "r-1"
        cookie = r.headers["set-cookie"]
        assert "session=ada-token" in cookie and "HttpOnly" in cookie and "Max-Age=60" in cookie
        client.cookies.clear()
        r = client.post("/whoami", json={}, headers={"cookie": "session=abc"})
        assert r.json() == {"user": "ada", "cookie": "abc"}


def test_context_temp_dir_is_removed_after_the_response() -> None:
    with serving(WithContext) as client:
        r = client.post("/scratch", json={})
        assert r.status_code == 200
        assert not Path(r.text).exists()


@bento.service(traffic={"timeout": 0.3})
class Faulty:
    @bento.api
    def flaky(self, fail_after: int) -> Iterator[str]:
        for i in range(fail_after):
            yield f"item {i}"
        raise RuntimeError("tokenizer crashed")

    @bento.api
    async def sleepy(self) -> AsyncGenerator[str, None]:
        await asyncio.sleep(10)
        yield "late"


def test_a_generator_failing_mid_stream_ends_the_stream_with_an_sse_error_event() -> None:
    with serving(Faulty) as client:
        r = client.post("/flaky", json={"fail_after": 2}, headers={"accept": "text/event-stream"})
        assert r.status_code == 200
        assert r.text.startswith("data: item 0\n\ndata: item 1\n\n")
        assert 'event: error\ndata: {"error": "RuntimeError", "message": "tokenizer crashed"}' in r.text
        r = client.post("/flaky", json={"fail_after": 0})
        assert r.status_code == 500
        assert r.json() == {"error": "RuntimeError", "message": "tokenizer crashed"}


def test_a_stream_without_a_first_item_within_the_timeout_is_504() -> None:
    with serving(Faulty) as client:
        r = client.post("/sleepy", json={})
        assert r.status_code == 504


@bento.service
class Forms:
    @bento.api
    def tally(self, counts: list[int], label: str, weight: float = 1.0, note: bytes = b"") -> dict[str, Any]:
        return {"total": sum(counts) * weight, "label": label, "note": note.decode()}

    @bento.api
    def plain(self, counts: list[int]) -> int:
        return sum(counts)


def test_form_bodies_decode_json_fields_but_keep_text_fields() -> None:
    # Forms reach only APIs that take files (here `note: bytes`); a JSON-only API wants application/json.
    with serving(Forms) as client:
        r = client.post("/tally", data={"counts": "[1, 2, 3]", "label": "123", "weight": "0.5"})
        assert r.json() == {"total": 3.0, "label": "123", "note": ""}
        r = client.post("/tally", files=[("counts", (None, "4")), ("counts", (None, "5")), ("label", (None, "x")),
                                         ("note", ("n.txt", b"hi", "text/plain"))])
        assert r.json() == {"total": 9.0, "label": "x", "note": "hi"}
        r = client.post("/plain", data={"counts": "[1, 2]"})
        assert r.status_code == 415 and "send application/json" in r.json()["message"]


@bento.service
class Batched:
    @bento.api(batchable=True, max_batch_size=8, max_latency_ms=1000)
    def double(self, xs: np.ndarray) -> np.ndarray:
        return xs * 2


def test_batchable_api_is_served_through_the_batching_hook() -> None:
    with serving(Batched) as client:
        r = client.post("/double", json={"xs": [1, 2, 3]})
        assert r.status_code == 200, r.text
        assert r.json() == [2, 4, 6]


def test_docs_json_of_every_service_here_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    for service in (Types, Files, Streams, WithContext, Faulty, Forms, Batched):
        with serving(service) as client:
            doc = client.get("/docs.json").json()
        validate(doc)
        assert {api.route for api in service.apis.values()} <= set(doc["paths"])
    size = doc_of(Files)["paths"]["/size"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert size["properties"]["files"] == {"type": "array", "items": {"type": "string", "format": "binary"},
                                           "title": "Files"}


def doc_of(service: Any) -> dict[str, Any]:
    from bento.core.openapi import openapi_document

    return openapi_document(service)
