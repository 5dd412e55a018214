"""ASGI apps inside a service: a real FastAPI app mounted under a prefix, sharing the service instance."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest

from utils import serve

SERVICE = r'''
import contextlib, os
from pathlib import Path
import bentoml
from fastapi import FastAPI

@contextlib.asynccontextmanager
async def lifespan(app):
    Path(os.environ["MARKS"], "started").write_text(str(os.getpid()))
    yield
    Path(os.environ["MARKS"], "stopped").write_text(str(os.getpid()))

app = FastAPI(lifespan=lifespan)

@app.get("/hello/{name}")
def hello(name: str) -> dict:
    svc = bentoml.get_current_service()
    return {"greeting": svc.greet(name), "prefix": app.root_path}

admin = FastAPI()

@admin.get("/who")
def who() -> dict:
    return {"app": "admin"}

@bentoml.asgi_app(app, path="/v1")
@bentoml.service
class Greeter:
    def __init__(self) -> None:
        self.count = 0

    @app.get("/count")
    def count_route(self) -> dict:  # a FastAPI route that is a method of the service (as in BentoML)
        return {"count": self.count}

    @bentoml.api
    def greet(self, name: str) -> str:
        self.count += 1
        return f"hi {name} #{self.count}"

Greeter.mount_asgi_app(admin, path="/v1/admin")
'''


def test_fastapi_app_mounted_inside_a_service(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(textwrap.dedent(SERVICE))
    marks = tmp_path / "marks"
    marks.mkdir()
    with serve(["service.py:Greeter"], tmp_path, env={"MARKS": str(marks)}) as server:
        url = server.url
        assert (marks / "started").exists()  # the mounted app's lifespan ran in the worker
        first = httpx.get(f"{url}/v1/hello/ada")
        assert first.status_code == 200, first.text
        assert first.json()["greeting"] == "hi ada #1"  # the service instance, shared with the APIs
        assert httpx.post(f"{url}/greet", json={"name": "bob"}).text == "hi bob #2"
        assert httpx.get(f"{url}/v1/admin/who").json() == {"app": "admin"}  # longest prefix wins
        assert httpx.get(f"{url}/v1/count").json() == {"count": 2}  # `self` is the service instance
        assert "self" not in str(httpx.get(f"{url}/v1/openapi.json").json()["paths"]["/count"])
        # FastAPI sees its mount point: its own docs and schema work under the prefix.
        assert httpx.get(f"{url}/v1/openapi.json").json()["paths"].keys() >= {"/hello/{name}"}
        assert httpx.get(f"{url}/v1/docs").status_code == 200
        assert httpx.get(f"{url}/v1/nope").status_code == 404
        assert httpx.get(f"{url}/readyz").status_code == 200 and httpx.get(f"{url}/livez").status_code == 200
        assert 'route="/v1"' in httpx.get(f"{url}/metrics").text
    assert (marks / "stopped").exists()  # and stopped with the worker


def test_mount_rejects_bad_arguments() -> None:
    import bento
    from bento.errors import InvalidConfig

    with pytest.raises(InvalidConfig, match="ASGI application"):
        bento.asgi_app("not an app", path="/v1")
    with pytest.raises(InvalidConfig, match="not a valid URL path prefix"):
        bento.asgi_app(lambda s, r, q: None, path="/v 1")
