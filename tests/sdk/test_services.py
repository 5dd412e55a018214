from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, AsyncGenerator, Iterator

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

import bento
from bento.errors import InvalidConfig
from bento.validators import ContentType, DType, Shape


class Point(BaseModel):
    x: float
    y: float


@bento.service(traffic={"timeout": 5})
class Example:
    def __init__(self) -> None:
        self.calls = 0

    @bento.api
    def echo(self, text: str, times: int = 1) -> str:
        self.calls += 1
        return text * times

    @bento.api(route="/v1/norm", name="norm")
    def vector_norm(self, v: Annotated[np.ndarray, Shape((-1,)), DType("float32")], ctx: bento.Context) -> float:
        return float(np.linalg.norm(v))

    @bento.api
    def upload(self, image: Annotated[Path, ContentType("image/*")], caption: str = "") -> Annotated[Path, ContentType("image/png")]:
        return image

    @bento.api
    async def tokens(self, prompt: str) -> AsyncGenerator[str, None]:
        for word in prompt.split():
            yield word

    @bento.api
    def lines(self, n: int) -> Iterator[str]:
        yield from (str(i) for i in range(n))

    @bento.api
    def centroid(self, points: list[Point]) -> Point:
        return Point(x=sum(p.x for p in points) / len(points), y=sum(p.y for p in points) / len(points))

    @bento.api
    def raw(self, data: bytes) -> bytes:
        return data[::-1]

    @bento.on_startup
    def warm(self) -> None:
        self.calls = 0

    @bento.on_deployment
    @staticmethod
    def prepare() -> None:
        pass


def test_apis_routes_and_kinds() -> None:
    apis = Example.apis
    assert set(apis) == {"echo", "norm", "upload", "tokens", "lines", "centroid", "raw"}
    assert apis["echo"].route == "/echo" and apis["norm"].route == "/v1/norm"
    kinds = {name: (a.signature.input_kind, a.signature.output_kind) for name, a in apis.items()}
    assert kinds == {
        "echo": ("json", "text"),
        "norm": ("json", "json"),
        "upload": ("multipart", "file"),
        "tokens": ("json", "stream"),
        "lines": ("json", "stream"),
        "centroid": ("json", "json"),
        "raw": ("multipart", "bytes"),
    }
    assert apis["tokens"].is_async and not apis["echo"].is_async
    assert apis["norm"].signature.context_param == "ctx"
    assert apis["upload"].signature.output_content_type == "image/png"


def test_input_model_applies_defaults_and_validates_types() -> None:
    model = Example.apis["echo"].signature.input_model
    assert model.model_validate_json(b'{"text": "ab"}').model_dump() == {"text": "ab", "times": 1}
    with pytest.raises(ValidationError) as info:
        model.model_validate_json(b'{"text": "ab", "times": "many"}')
    assert info.value.errors()[0]["loc"] == ("times",)
    with pytest.raises(ValidationError):
        model.model_validate_json(b'{"txt": "ab"}')  # unknown and missing field


def test_ndarray_from_json_lists_with_shape_and_dtype() -> None:
    model = Example.apis["norm"].signature.input_model
    value = model.model_validate_json(b'{"v": [3, 4]}').v
    assert isinstance(value, np.ndarray) and value.dtype == np.float32 and value.shape == (2,)
    with pytest.raises(ValidationError, match="expected shape"):
        model.model_validate_json(b'{"v": [[3, 4]]}')
    with pytest.raises(ValidationError):
        model.model_validate_json(b'{"v": [[1, 2], [3]]}')


def test_json_output_serializes_arrays_and_models() -> None:
    adapter = Example.apis["centroid"].signature.output_adapter
    assert adapter.dump_json(Point(x=1, y=2)) == b'{"x":1.0,"y":2.0}'


def test_instances_are_plain_objects_with_bound_apis() -> None:
    svc = Example()
    assert svc.echo("ab", times=2) == "abab"
    assert svc.calls == 1
    assert asyncio.run(_collect(svc.tokens("a b c"))) == ["a", "b", "c"]


async def _collect(gen: AsyncGenerator[str, None]) -> list[str]:
    return [item async for item in gen]


def test_hooks_are_collected() -> None:
    assert [h.__name__ for h in Example.hooks["startup"]] == ["warm"]
    assert len(Example.hooks["deployment"]) == 1


def test_api_options_are_validated() -> None:
    with pytest.raises(InvalidConfig, match="did you mean `batchable`"):
        bento.api(batchabel=True)  # type: ignore[call-overload]
    def predict(self: object, x: list[float]) -> list[float]:
        return x

    with pytest.raises(InvalidConfig, match="max_batch_size"):
        bento.api(batchable=True, max_batch_size=0)(predict)


def test_duplicate_routes_are_rejected() -> None:
    with pytest.raises(InvalidConfig, match="share the route"):
        @bento.service
        class Clash:
            @bento.api(route="/same")
            def a(self) -> str:
                return "a"

            @bento.api(route="/same")
            def b(self) -> str:
                return "b"


def test_depends_outside_a_server_instantiates_in_process() -> None:
    @bento.service
    class Outer:
        inner = bento.depends(Example)

        @bento.api
        def shout(self, text: str) -> str:
            return self.inner.echo(text).upper()

    assert Outer().shout("hi") == "HI"
    assert [s.name for s in Outer.graph()] == ["Outer", "Example"]


def test_dependencies_are_made_by_the_resolver_the_instance_was_created_with() -> None:
    from bento.core.calling import LocalService

    @bento.service
    class Leaf:
        @bento.api
        def ping(self) -> str:
            return "pong"

    @bento.service
    class Root:
        leaf = bento.depends(Leaf)

        def __init__(self) -> None:
            self.seen_in_init = self.leaf  # the resolver is there before __init__ runs

    asked: list[str] = []

    def resolver(dep: Any) -> Any:
        asked.append(dep.on.name)
        return "a proxy"

    root = Root.instantiate(resolver)
    assert root.leaf == "a proxy" and root.seen_in_init == "a proxy" and asked == ["Leaf"]
    plain = Root()  # no resolver: in-process, per instance
    assert isinstance(plain.leaf, LocalService) and plain.leaf.ping() == "pong"
    assert Root().leaf is not plain.leaf and plain.leaf is plain.leaf
    assert Root.instantiate(lambda dep: None).leaf.ping() == "pong"  # None: left to this process


def test_a_url_dependency_needs_the_sdks_client() -> None:
    from bento.core.services import Dependency
    from bento.dependency import URLDependency

    with pytest.raises(InvalidConfig, match="needs a client"):
        Dependency(url="http://localhost:1")
    dep = bento.depends(url="http://localhost:1")
    assert dep.connect is URLDependency
