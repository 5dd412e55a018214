"""The API page's pre-filled requests are valid for every input type (a first click answers 200), and its
readiness polling does not fill the access log."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import httpx
import pytest

from bento.core.examples import example_of
from utils import serve  # tests/utils.py

SERVICE = '''
from __future__ import annotations

import datetime as dt
import enum
import uuid
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field

import bento
from bento.validators import ContentType, DType, Shape


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(BaseModel):
    x: float = Field(gt=0, le=0.5)
    y: int = Field(ge=3, multiple_of=5)
    tags: list[str] = Field(min_length=2)


@bento.service
class Kinds:
    @bento.api
    def scalars(self, text: str, n: int, ratio: float, flag: bool, maybe: int | None = None) -> str:
        return "ok"

    @bento.api
    def constrained(self, code: Annotated[str, Field(min_length=12, max_length=12)],
                    level: Annotated[int, Field(gt=10, lt=12)], mode: Literal["fast", "slow"],
                    color: Color, when: dt.datetime, day: dt.date, ident: uuid.UUID) -> str:
        return "ok"

    @bento.api
    def nested(self, point: Point, points: list[Point], table: dict[str, float]) -> str:
        return "ok"

    @bento.api
    def arrays(self, vector: Annotated[np.ndarray, DType("float32")],
               matrix: Annotated[np.ndarray, DType("int64"), Shape((-1, 4))],
               fixed: Annotated[np.ndarray, Shape((2, 3))]) -> str:
        return "ok"

    @bento.api
    def upload(self, document: Annotated[Path, ContentType("text/plain")], note: str, copies: int = 1) -> str:
        return "ok"

    @bento.api
    def nothing(self) -> str:
        return "ok"
'''


def test_every_pre_filled_request_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(textwrap.dedent(SERVICE))
    with serve(["service.py:Kinds"], cwd=tmp_path) as server:
        doc = httpx.get(server.url + "/docs.json").json()
        for route, item in doc["paths"].items():
            if "post" not in item:
                continue
            content = item["post"]["requestBody"]["content"]
            if "application/json" in content:
                answer = httpx.post(server.url + route, json=content["application/json"]["example"])
            else:
                form = content["multipart/form-data"]
                data = {k: v if isinstance(v, str) else str(v) for k, v in form["example"].items()}
                answer = httpx.post(server.url + route, data=data,
                                    files={"document": ("notes.txt", b"hello", "text/plain")})
            assert answer.status_code == 200, (route, content, answer.text)


@pytest.mark.parametrize(("schema", "valid"), [
    ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5}, lambda v: 0 < v < 0.5),
    ({"type": "integer", "minimum": 3, "multipleOf": 5}, lambda v: v == 5),
    ({"type": "string", "minLength": 9, "maxLength": 9}, lambda v: len(v) == 9),
    ({"type": "array", "items": {"type": "integer"}, "minItems": 3}, lambda v: v == [0, 0, 0]),
    ({"anyOf": [{"type": "null"}, {"type": "string", "format": "date"}]}, lambda v: v == "2024-01-01"),
    ({"$ref": "#/components/schemas/P"}, lambda v: v == {"a": "b"}),
])
def test_examples_honour_the_schema(schema: dict, valid) -> None:  # type: ignore[no-untyped-def,type-arg]
    assert valid(example_of(schema, {"P": {"type": "object", "properties": {"a": {"enum": ["b", "c"]}}}}))


def test_readiness_polling_stays_out_of_the_access_log(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(textwrap.dedent(SERVICE))
    with serve(["service.py:Kinds"], cwd=tmp_path) as server:
        for _ in range(3):
            assert httpx.get(server.url + "/readyz").status_code == 200
            assert httpx.get(server.url + "/livez").status_code == 200
        assert httpx.post(server.url + "/nothing", json={}).status_code == 200
        assert httpx.post(server.url + "/scalars", json={}).status_code == 400
        deadline = time.monotonic() + 10
        while "POST /scalars 400" not in server.output():
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.05)
        log = server.output()
    assert "POST /nothing 200" in log  # the access log is on
    # successful probes stay out; a 503 from a poll that came before the worker was ready is logged
    assert "GET /readyz 200" not in log and "GET /livez 200" not in log
