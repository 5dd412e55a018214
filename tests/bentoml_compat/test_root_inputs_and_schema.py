"""Root inputs (one positional-only parameter takes the whole body), dropped unknown fields, /schema.json and
/healthz, in process against the real app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import bentoml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
from appclient import serving  # noqa: E402  (tests/runtime/appclient.py)


@bentoml.service
class Roots:
    @bentoml.api
    def text(self, body: str, /) -> str:
        return body[::-1]

    @bentoml.api
    def blob(self, data: bytes, /) -> int:
        return len(data)

    @bentoml.api
    def items(self, values: list[int], /) -> int:
        return sum(values)

    @bentoml.api
    def record(self, doc: dict, /) -> list[str]:
        return sorted(doc)

    @bentoml.api
    def upload(self, file: Path, /) -> str:
        return f"{file.read_bytes().decode()}|{file.suffix}"

    @bentoml.api
    def named(self, text: str, times: int = 1) -> str:
        """Repeat a text."""
        return text * times

    @bentoml.api
    def chunks(self, n: int) -> Iterator[str]:
        yield from (str(i) for i in range(n))


def test_a_positional_only_parameter_takes_the_whole_body_in_any_form() -> None:
    with serving(Roots) as client:
        assert client.post("/text", content=b"abc", headers={"content-type": "text/plain"}).text == "cba"
        assert client.post("/text", json="json string").text == "gnirts nosj"
        assert client.post("/blob", content=b"\x00\x01\x02", headers={"content-type": "application/octet-stream"}
                           ).json() == 3
        assert client.post("/items", json=[1, 2, 3]).json() == 6
        assert client.post("/record", json={"b": 1, "a": 2}).json() == ["a", "b"]
        assert client.post("/upload", content=b"%PDF", headers={"content-type": "application/pdf"}).text == "%PDF|.pdf"
        assert client.post("/upload", files={"anything": ("n.txt", b"hi", "text/plain")}).text == "hi|.txt"
        bad = client.post("/items", json={"values": "no"})
        assert bad.status_code == 400 and bad.json()["error"] == "ValidationError"


def test_unknown_fields_are_dropped_as_bentoml_does() -> None:
    with serving(Roots) as client:
        assert client.post("/named", json={"text": "ab", "times": 2, "temperature": 0.3}).text == "abab"


def test_schema_json_describes_routes_for_bentoml_clients_and_healthz_answers() -> None:
    with serving(Roots) as client:
        assert client.get("/healthz").status_code == 200
        routes = {r["name"]: r for r in client.get("/schema.json").json()["routes"]}
    assert routes["named"]["route"] == "/named" and routes["named"]["doc"] == "Repeat a text."
    assert routes["named"]["input"]["required"] == ["text"] and routes["named"]["output"]["type"] == "string"
    assert routes["text"]["input"] == {"type": "string", "root_input": True}
    assert routes["upload"]["input"] == {"type": "file", "format": "binary", "root_input": True}
    assert routes["blob"]["output"] == {"type": "integer", "media_type": "application/json"}
    assert routes["chunks"]["output"]["is_stream"] is True
