"""Hostile requests against the real ``bento serve`` on a loopback port: file parameters that name server
files, cross-origin simple requests, foreign ``Host`` headers, malformed bodies and loose JSON types.
Every refusal is a 4xx with a JSON body; no server file is ever read on a client's say-so."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from utils import serve

SERVICE = """
    from pathlib import Path
    from typing import Annotated

    import numpy as np
    from pydantic import Field

    import bento
    from bento.validators import ContentType


    @bento.service
    class Files:
        @bento.api
        def read_text(self, doc: Path) -> str:
            return doc.read_text()

        @bento.api
        def total(self, arr: np.ndarray) -> float:
            return float(arr.sum())


    @bento.service
    class Front:
        files = bento.depends(Files)

        @bento.api
        def echo(self, doc: Path) -> Path:
            return doc

        @bento.api
        def kind(self, picture: Annotated[Path, ContentType("image/*")]) -> str:
            return picture.name

        @bento.api
        def checksum(self, data: bytes) -> int:
            return sum(data)

        @bento.api
        def add(self, x: float, n: int = 0, flag: bool = False) -> str:
            return f"{x + n} {flag}"

        @bento.api
        def unbounded(self, x: Annotated[float, Field(allow_inf_nan=True)]) -> str:
            return str(x)

        @bento.api
        def forward_total(self, arr: np.ndarray) -> float:
            return self.files.total(arr=arr)

        @bento.api
        def forward_read(self, name: str) -> str:
            return self.files.read_text(doc=name)
"""

SECRET = "the-server-side-secret-1234"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    directory = tmp_path_factory.mktemp("hostile")
    (directory / "service.py").write_text(textwrap.dedent(SERVICE))
    secret = directory / "secret.txt"
    secret.write_text(SECRET)
    with serve(["service.py:Front"], cwd=directory) as running:
        running.secret = str(secret)  # type: ignore[attr-defined]
        yield running


def refused(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert SECRET not in response.text
    for word in words:
        assert word in body["message"], body
    return body


# ---- 1. file parameters come only from uploads ------------------------------------------------------
def test_a_file_parameter_named_in_json_or_a_form_field_is_refused(server: Any) -> None:
    url = server.url
    refused(httpx.post(url + "/echo", json={"doc": server.secret}), 400, "`doc`", "file")
    refused(httpx.post(url + "/echo", data={"doc": server.secret}), 400, "`doc`", "plain form field")
    refused(httpx.post(url + "/echo", files=[("doc", (None, server.secret))]), 400, "`doc`")
    refused(httpx.post(url + "/echo", json={"doc": "/proc/self/environ"}), 400, "`doc`")
    refused(httpx.post(url + "/checksum", json={"data": "abc"}), 400, "`data`")
    refused(httpx.post(url + "/checksum", data={"data": "abc"}), 400, "`data`")
    # A real upload still works, and only its own bytes come back.
    r = httpx.post(url + "/echo", files={"doc": ("note.txt", b"uploaded bytes", "text/plain")})
    assert r.status_code == 200 and r.content == b"uploaded bytes"
    assert httpx.post(url + "/checksum", files={"data": ("d.bin", b"\x01\x02")}).json() == 3
    # An API whose one parameter is a file also takes the raw body as that file (never a path it names).
    raw = httpx.post(url + "/echo", content=b"raw body bytes", headers={"content-type": "application/pdf"})
    assert raw.status_code == 200 and raw.content == b"raw body bytes"
    named = httpx.post(url + "/echo", content=server.secret.encode(), headers={"content-type": "text/plain"})
    assert named.status_code == 200 and named.content == server.secret.encode()  # the text itself, not the file
    assert httpx.post(url + "/checksum", content=b"\x01\x02",
                      headers={"content-type": "application/octet-stream"}).json() == 3


def test_content_type_validators_check_every_upload(server: Any) -> None:
    url = server.url
    ok = httpx.post(url + "/kind", files={"picture": ("cat.png", b"\x89PNG", "image/png")})
    assert ok.status_code == 200 and ok.text == "cat.png"
    refused(httpx.post(url + "/kind", files={"picture": ("cat.png", b"x", "text/plain")}), 400, "image/*")
    refused(httpx.post(url + "/kind", files={"picture": ("blob", b"x", "")}), 400, "image/*")


def test_a_caller_service_cannot_name_a_file_for_its_dependency(server: Any) -> None:
    r = httpx.post(server.url + "/forward_read", json={"name": server.secret})
    assert r.status_code >= 400 and SECRET not in r.text
    assert "`doc`" in r.json()["message"]


# ---- 2. no cross-origin simple requests, no foreign Host --------------------------------------------
def test_json_apis_refuse_form_bodies_from_other_origins(server: Any) -> None:
    evil = {"origin": "http://evil.example"}
    for kwargs in ({"data": {"x": "1"}}, {"files": [("x", (None, "1"))]}, {"content": b'{"x": 1}',
                   "headers": {"content-type": "text/plain", **evil}}):
        kwargs.setdefault("headers", evil)
        refused(httpx.post(server.url + "/add", **kwargs), 415, "send application/json")
    # A body without a content type (a Blob without a type, sent with mode "no-cors") is refused too.
    refused(httpx.post(server.url + "/add", content=b'{"x": 1}', headers=evil), 415, "send application/json")
    assert httpx.post(server.url + "/add", json={"x": 1.5}).text == "1.5 False"


def test_foreign_host_headers_are_refused_on_loopback(server: Any) -> None:
    port = server.url.rsplit(":", 1)[1]
    r = httpx.post(server.url + "/add", json={"x": 1}, headers={"host": f"evil.example:{port}"})
    refused(r, 400, "evil.example", "http.allowed_hosts")
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"api.localhost:{port}"):
        assert httpx.post(server.url + "/add", json={"x": 1}, headers={"host": host}).status_code == 200
    assert httpx.get(server.url + "/readyz", headers={"host": "10.1.2.3"}).status_code == 200


def test_bound_to_every_interface_any_host_is_served(tmp_path: Path) -> None:
    # Behind 0.0.0.0 a sidecar proxy connects over 127.0.0.1 with the public name: that must not narrow it.
    (tmp_path / "service.py").write_text(textwrap.dedent(SERVICE))
    with serve(["service.py:Front", "--host", "0.0.0.0"], cwd=tmp_path) as running:
        r = httpx.post(running.url + "/add", json={"x": 1}, headers={"host": "api.example.com"})
        assert r.status_code == 200, r.text


# ---- 6. malformed bodies are 4xx, never 5xx ------------------------------------------------------
def test_malformed_multipart_and_oversized_forms_are_400(server: Any) -> None:
    url = server.url
    part = b'--real\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\n\r\nhi\r\n--real--\r\n'
    refused(httpx.post(url + "/echo", content=part, headers={"content-type": "multipart/form-data"}), 400)
    refused(httpx.post(url + "/echo", content=part,
                       headers={"content-type": "multipart/form-data; boundary=other"}), 400)
    many = "&".join(f"f{i}=1" for i in range(5000)).encode()
    refused(httpx.post(url + "/echo", content=many,
                       headers={"content-type": "application/x-www-form-urlencoded"}), 400, "malformed form")


@pytest.mark.parametrize("body", [b'{"x": 1e999}', b'{"x": -1e999}', b'{"x": NaN}', b'{"x": Infinity}',
                                  b'{"x": "inf"}', b'{"x": false}', b'{"x": 1, "n": true}',
                                  b'{"x": 1, "flag": 0}', b'{"x": 1, "n": "2"}'])
def test_json_types_are_strict(server: Any, body: bytes) -> None:
    r = httpx.post(server.url + "/add", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "ValidationError"


def test_inf_is_accepted_where_the_schema_allows_it(server: Any) -> None:
    r = httpx.post(server.url + "/unbounded", content=b'{"x": 1e999}', headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.text == "inf"
    assert httpx.post(server.url + "/add", json={"x": 2, "n": 1, "flag": True}).text == "3.0 True"


def test_a_string_for_an_array_is_400_before_any_dependency_sees_it(server: Any) -> None:
    r = httpx.post(server.url + "/forward_total", json={"arr": "not an array"})
    body = refused(r, 400)
    assert body["detail"][0]["field"] == "arr"
    refused(httpx.post(server.url + "/forward_total", json={"arr": [["a", "b"]]}), 400)
    assert httpx.post(server.url + "/forward_total", json={"arr": [[1, 2], [3, 4]]}).json() == 10.0
