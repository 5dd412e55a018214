"""The kinds registry is the single switch: a kind registered in one place is recognised in signatures,
served, described in OpenAPI and the bento manifest, and decoded by the public client, with no other edit."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

import bento
from bento.builder.describe import describe_api
from bento.core import kinds
from bento.core.errors import InvalidConfig
from bento.core.kinds.base import IOKind, SchemaOf, ToJSON
from bento.core.kinds.rows import Rows
from bento.runtime import batch_values
from conftest import running


class Table:
    """A toy tabular type standing in for a framework one (a DataFrame, say)."""

    def __init__(self, rows: list[list[str]]) -> None:
        self.rows = rows

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and other.rows == self.rows


class TableRows(Rows):
    def owns(self, value: Any) -> bool:
        return isinstance(value, Table)

    def count(self, value: Any, dim: int) -> int | None:
        return len(value.rows)

    def take(self, value: Any, start: int, stop: int, dim: int) -> Any:
        return Table(value.rows[start:stop])

    def concat(self, parts: list[Any], dim: int) -> Any:
        return Table([row for part in parts for row in part.rows])


class CSVKind(IOKind):
    name = "csv"
    default_content_type = "text/csv"
    rows = (TableRows(),)

    def matches(self, base: Any, is_generator: bool) -> bool:
        return base is Table

    def encode(self, result: Any, content_type: bytes | None, to_json: ToJSON) -> tuple[bytes, bytes]:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(result.rows)
        return content_type or b"text/csv", out.getvalue().encode()

    def describe(self, schema: SchemaOf) -> dict[str, Any]:
        return {"type": "string", "contentMediaType": "text/csv"}

    def decode(self, content_type: str, disposition: str, body: bytes) -> Any:
        return Table([list(row) for row in csv.reader(io.StringIO(body.decode()))])


@pytest.fixture
def csv_kind() -> Iterator[IOKind]:
    kind = kinds.register(CSVKind())
    try:
        yield kind
    finally:
        kinds.unregister("csv")


def _service() -> Any:
    @bento.service
    class Tables:
        @bento.api
        def table(self, n: int) -> Table:
            return Table([["i", "square"], *[[str(i), str(i * i)] for i in range(n)]])

        @bento.api
        def words(self, text: str) -> str:
            return text.upper()

    return Tables


def test_a_registered_kind_is_served_described_and_decoded(csv_kind: IOKind) -> None:
    svc = _service()
    sig = svc.apis["table"].signature
    assert sig.output_kind == "csv" and sig.io is csv_kind and sig.output_content_type == "text/csv"
    assert svc.apis["words"].signature.output_kind == "text"  # the built-in kinds still come first
    with running(svc, internal=False) as url:
        response = httpx.post(url + "/table", json={"n": 3})
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv"
        assert response.text == "i,square\n0,0\n1,1\n2,4\n"
        op = httpx.get(url + "/docs.json").json()["paths"]["/table"]["post"]
        with bento.SyncHTTPClient(url) as client:  # the public client decodes it with the same kind
            assert client.table(n=2) == Table([["i", "square"], ["0", "0"], ["1", "1"]])
            assert client.words("hi") == "HI"
    assert op["x-bento-output-kind"] == "csv"
    assert op["responses"]["200"]["content"] == {
        "text/csv": {"schema": {"type": "string", "contentMediaType": "text/csv"}}}
    assert describe_api(svc.apis["table"])["output"] == {"type": "string", "contentMediaType": "text/csv"}


def test_without_the_registration_the_type_is_plain_json() -> None:
    assert kinds.find("csv") is None
    assert _service().apis["table"].signature.output_kind == "json"


def test_names_must_be_new_and_builtins_stay() -> None:
    with pytest.raises(InvalidConfig, match="already registered"):
        kinds.register(type("Again", (IOKind,), {"name": "json"})())
    with pytest.raises(InvalidConfig, match="has no name"):
        kinds.register(IOKind())
    kinds.unregister("json")
    assert kinds.names() == ["stream", "text", "file", "bytes", "image", "dataframe", "json"]


def test_upload_parameters_come_from_the_kinds() -> None:
    assert kinds.is_upload(Path) and kinds.is_upload(bytes)
    assert not kinds.is_upload(str) and not kinds.is_upload(Table)


def test_a_registered_kinds_rows_are_batched(csv_kind: IOKind) -> None:
    a, b = {"t": Table([["1"], ["2"]]), "k": 1}, {"t": Table([["3"]]), "k": 1}
    assert batch_values.describe(a, 0, ())[0] == 2  # type: ignore[index]
    assert batch_values.describe(a, 0, ())[1] == batch_values.describe(b, 0, ())[1]  # type: ignore[index]
    merged = batch_values.merge_requests([a, b], 0, ())
    assert merged == {"t": Table([["1"], ["2"], ["3"]]), "k": 1}
    parts = batch_values.split_result(Table([["x"], ["y"], ["z"]]), [2, 1], 0, "api")
    assert parts == [Table([["x"], ["y"]]), Table([["z"]])]
    assert batch_values.join_results(parts, 0) == Table([["x"], ["y"], ["z"]])
    chunks = batch_values.split_request(merged, 0, 2, 3)
    assert [(c["t"], n) for c, n in chunks] == [(Table([["1"], ["2"]]), 2), (Table([["3"]]), 1)]
