"""Start-up, health, hooks, metrics, the OpenAPI document and the API page of the worker app."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Annotated, Any, AsyncGenerator

import pytest
from appclient import serving
from openapi_spec_validator import validate
from pydantic import BaseModel

import bento
from bento.errors import InvalidConfig
from bento.runtime.app import create_app
from bento.runtime.state import LocalState
from bento.validators import ContentType

release_init = threading.Event()
events: list[str] = []


@bento.service
class SlowStart:
    def __init__(self) -> None:
        release_init.wait(10)
        self.healthy = True
        self.ready = True
        events.append("init")

    @bento.on_startup
    def warm(self) -> None:
        events.append("startup-sync")

    @bento.on_startup
    async def connect(self) -> None:
        events.append("startup-async")

    @bento.on_startup
    @staticmethod
    def static_hook() -> None:
        events.append("startup-static")

    @bento.on_shutdown
    async def disconnect(self) -> None:
        events.append("shutdown-async")

    @bento.on_shutdown
    def flush(self) -> None:
        events.append("shutdown-sync")

    def __is_ready__(self) -> bool:
        return self.ready

    async def __is_alive__(self) -> bool:
        return self.healthy

    @bento.api
    def toggle(self, ready: bool = True, healthy: bool = True) -> str:
        self.ready, self.healthy = ready, healthy
        return "ok"


@pytest.fixture(autouse=True)
def _reset() -> Any:
    release_init.clear()
    events.clear()
    yield
    release_init.set()


def test_livez_answers_while_init_runs_and_readyz_waits_for_it() -> None:
    state = LocalState()
    with serving(SlowStart, state, ready=False) as client:
        assert client.get("/livez").status_code == 200
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["error"] == "ServiceUnavailable"
        assert "starting" in r.json()["message"]
        assert client.post("/toggle", json={}).status_code == 503
        assert not state.is_ready()
        release_init.set()
        from appclient import wait_ready

        wait_ready(client)
        assert state.is_ready()
        assert client.get("/readyz").json() == {"status": "ready"}
        assert events == ["init", "startup-sync", "startup-async", "startup-static"]
    assert events[-2:] == ["shutdown-async", "shutdown-sync"]


def test_is_ready_and_is_alive_methods_feed_the_probes() -> None:
    release_init.set()
    with serving(SlowStart) as client:
        client.post("/toggle", json={"ready": False})
        assert client.get("/readyz").status_code == 503
        assert "__is_ready__" in client.get("/readyz").json()["message"]
        client.post("/toggle", json={"healthy": False})
        assert client.get("/livez").status_code == 503
        client.post("/toggle", json={})
        assert client.get("/readyz").status_code == 200
        assert client.get("/livez").status_code == 200


@bento.service
class Broken:
    def __init__(self) -> None:
        raise RuntimeError("weights file missing")

    @bento.api
    def noop(self) -> str:
        return ""


def test_failed_init_is_reported_by_the_probes() -> None:
    app = create_app(Broken, LocalState())
    from appclient import TestClient

    with TestClient(app) as client:
        for _ in range(500):
            if app.startup_error is not None:
                break
            threading.Event().wait(0.01)
        r = client.get("/livez")
        assert r.status_code == 503
        assert r.json()["error"] == "StartupFailed"
        assert "weights file missing" in r.json()["message"]
        assert client.get("/readyz").status_code == 503


@bento.service(metrics={"namespace": "shop"})
class Measured:
    @bento.api
    def buy(self, n: int) -> int:
        return n


def test_metrics_count_requests_per_route_method_and_status() -> None:
    with serving(Measured) as client:
        client.post("/buy", json={"n": 1})
        client.post("/buy", json={"n": 2})
        client.post("/buy", json={})
        text = client.get("/metrics").text
    assert re.search(r'shop_request_total\{method="POST",route="/buy",status="200"\} 2\.0', text)
    assert re.search(r'shop_request_total\{method="POST",route="/buy",status="400"\} 1\.0', text)
    assert re.search(r'shop_request_duration_seconds_count\{route="/buy"\} 3\.0', text)
    assert 'shop_request_in_progress{route="/buy"} 0.0' in text


@bento.service(metrics={"enabled": False})
class Unmeasured:
    @bento.api
    def buy(self, n: int) -> int:
        return n


def test_disabled_metrics_have_no_page() -> None:
    with serving(Unmeasured) as client:
        assert client.post("/buy", json={"n": 1}).json() == 1
        assert client.get("/metrics").status_code == 404


class Item(BaseModel):
    name: str
    price: float


@bento.service(description="A shop.")
class Documented:
    @bento.api
    def add(self, item: Item, quantity: int = 1) -> list[Item]:
        """Add an item to the basket."""
        return [item] * quantity

    @bento.api(route="/v1/upload")
    def upload(self, photo: Annotated[Path, ContentType("image/*")], caption: str) -> Path:
        return photo

    @bento.api
    def shout(self, text: str) -> str:
        return text.upper()

    @bento.api
    async def count(self, upto: int) -> AsyncGenerator[int, None]:
        for i in range(upto):
            yield i

    @bento.api
    def raw(self, data: bytes) -> bytes:
        return data

    @bento.api
    def ping(self) -> dict[str, str]:
        return {"pong": "yes"}


def test_docs_json_is_a_valid_openapi_document_of_every_api() -> None:
    with serving(Documented) as client:
        doc = client.get("/docs.json").json()
    validate(doc)
    assert doc["info"]["title"] == "Documented"
    assert doc["info"]["description"] == "A shop."
    add = doc["paths"]["/add"]["post"]
    assert add["description"] == "Add an item to the basket."
    body = add["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["item"]
    assert body["properties"]["item"] == {"$ref": "#/components/schemas/Item"}
    assert body["properties"]["quantity"]["default"] == 1
    assert doc["components"]["schemas"]["Item"]["required"] == ["name", "price"]
    assert add["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert add["responses"]["400"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
    upload = doc["paths"]["/v1/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["photo"]["format"] == "binary"
    assert upload["encoding"]["photo"]["contentType"] == "image/*"
    assert "text/plain" in doc["paths"]["/shout"]["post"]["responses"]["200"]["content"]
    assert "text/event-stream" in doc["paths"]["/count"]["post"]["responses"]["200"]["content"]
    assert "application/octet-stream" in doc["paths"]["/raw"]["post"]["responses"]["200"]["content"]
    assert set(doc["paths"]) >= {"/add", "/v1/upload", "/shout", "/count", "/raw", "/ping", "/livez", "/readyz"}


def test_api_page_and_its_assets_are_served_from_the_package() -> None:
    with serving(Documented) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assets = re.findall(r'(?:src|href)="(/_bento/[^"]+)"', page.text)
        assert assets, "the page links its script and style sheet"
        for asset in assets:
            r = client.get(asset)
            assert r.status_code == 200, asset
            assert len(r.content) > 100
        assert "http://" not in page.text and "https://" not in page.text  # no CDN


@bento.service(http={"cors": {"enabled": True, "access_control_allow_origins": ["https://app.example"]}})
class Shared:
    @bento.api
    def hello(self) -> str:
        return "hello"


def test_cors_when_enabled() -> None:
    with serving(Shared) as client:
        r = client.options("/hello", headers={"origin": "https://app.example",
                                              "access-control-request-method": "POST"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        r = client.post("/hello", json={}, headers={"origin": "https://app.example"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"


def test_an_api_on_a_reserved_route_is_refused() -> None:
    @bento.service
    class Clash:
        @bento.api(route="/metrics")
        def metrics(self) -> str:
            return ""

    with pytest.raises(InvalidConfig, match="reserved route /metrics"):
        create_app(Clash, LocalState())


def test_access_log_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="bento.access"), serving(Measured) as client:
        client.post("/buy", json={"n": 5})
    lines = [r.getMessage() for r in caplog.records if r.name == "bento.access" and "/buy" in r.getMessage()]
    assert len(lines) == 1
    assert " POST /buy 200 " in lines[0] and "in=7B" in lines[0] and "out=1B" in lines[0]


@bento.service(logging={"access": {"enabled": False}})
class Quiet:
    @bento.api
    def buy(self, n: int) -> int:
        return n


def test_access_log_can_be_disabled(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="bento.access"), serving(Quiet) as client:
        client.post("/buy", json={"n": 5})
    assert not [r for r in caplog.records if r.name == "bento.access"]
