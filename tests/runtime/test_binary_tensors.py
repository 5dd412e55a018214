"""Arrays as binary bodies on a real `bento serve`: `application/x-npy` on the API's own route and the
KServe/Triton v2 protocol (driven by the real `tritonclient.http`), both batched like JSON; hostile
bodies get a 400 with a one-line reason."""

from __future__ import annotations

import io
import json
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np
import pytest

from utils import Server, serve

SERVICE = """
    import time
    from typing import Annotated

    import numpy as np

    import bento
    from bento.validators import DType, Shape


    @bento.service
    class Tensors:
        def __init__(self) -> None:
            self.batches: list[int] = []

        @bento.api(batchable=True, max_batch_size=64, max_latency_ms=5000)
        def double(self, x: Annotated[np.ndarray, Shape((-1, 4)), DType("float32")]) -> np.ndarray:
            self.batches.append(len(x))
            time.sleep(0.05)
            return x * 2

        @bento.api
        def scale(self, x: np.ndarray, factor: float = 3.0) -> dict:
            return {"scaled": x * factor, "total": np.array([x.sum()], dtype=np.float64)}

        @bento.api
        def batches(self) -> list[int]:
            return self.batches
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("tensors")
    (directory / "service.py").write_text(textwrap.dedent(SERVICE))
    with serve(["service.py:Tensors"], cwd=directory) as running:
        yield running


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


NPY = {"content-type": "application/x-npy", "accept": "application/x-npy"}


def test_npy_in_and_out_on_the_api_route_batched(server: Server) -> None:
    rows = [np.full((1, 4), i, dtype=np.float32) for i in range(24)]

    def call(row: np.ndarray) -> np.ndarray:
        reply = httpx.post(server.url + "/double", content=npy(row), headers=NPY, timeout=30)
        assert reply.status_code == 200 and reply.headers["content-type"] == "application/x-npy"
        return np.load(io.BytesIO(reply.content))

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(call, rows))
    for row, answer in zip(rows, answers):
        np.testing.assert_array_equal(answer, row * 2)
        assert answer.dtype == np.float32
    assert max(httpx.post(server.url + "/batches", json={}).json()) > 1  # merged like JSON requests
    # float64 in is cast to the declared float32; a JSON client still gets JSON back
    reply = httpx.post(server.url + "/double", content=npy(np.ones((2, 4))),
                       headers={"content-type": "application/x-npy"})
    assert reply.json() == [[2.0] * 4] * 2


@pytest.mark.parametrize("body, reason", [
    (b"not an array", "not a .npy array"),
    (npy(np.array([{"a": 1}], dtype=object)), "must hold numbers or booleans"),
    (npy(np.ones((2, 4), dtype=np.float32))[:-3], "needs 32"),
    (npy(np.ones((2, 3), dtype=np.float32)), "expected shape (-1, 4)"),
    (b"\x93NUMPY\x01\x00\x10\x00{'descr': __import__('os')}", "unreadable .npy header"),
])
def test_hostile_npy_bodies_are_400(server: Server, body: bytes, reason: str) -> None:
    reply = httpx.post(server.url + "/double", content=body, headers=NPY)
    assert reply.status_code == 400 and reason in reply.json()["message"]


def test_npy_needs_an_api_with_one_array_parameter(server: Server) -> None:
    reply = httpx.post(server.url + "/batches", content=npy(np.ones(2)), headers=NPY)
    assert reply.status_code == 415 and "exactly one" in reply.json()["message"]


def test_tritonclient_binary_and_json_tensors(server: Server) -> None:
    httpclient = pytest.importorskip("tritonclient.http")
    client = httpclient.InferenceServerClient(server.url.removeprefix("http://"), concurrency=8)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("double")
    meta = client.get_model_metadata("double")
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}]

    data = np.arange(8, dtype=np.float32).reshape(2, 4)
    for binary in (True, False):
        tensor = httpclient.InferInput("x", [2, 4], "FP32")
        tensor.set_data_from_numpy(data, binary_data=binary)
        wanted = httpclient.InferRequestedOutput("output_0", binary_data=binary)
        result = client.infer("double", [tensor], outputs=[wanted], request_id="r-1")
        np.testing.assert_array_equal(result.as_numpy("output_0"), data * 2)
        assert result.get_response()["id"] == "r-1"

    # many at once through the async API: batched with each other
    requests = []
    for i in range(16):
        tensor = httpclient.InferInput("x", [1, 4], "FP32")
        tensor.set_data_from_numpy(np.full((1, 4), i, dtype=np.float32))
        requests.append(client.async_infer("double", [tensor]))
    for i, pending in enumerate(requests):
        np.testing.assert_array_equal(pending.get_result().as_numpy("output_0"), np.full((1, 4), 2 * i))

    # a dict result gives named outputs; a scalar parameter takes a one-element tensor
    x = httpclient.InferInput("x", [3], "INT64")
    x.set_data_from_numpy(np.array([1, 2, 3]))
    factor = httpclient.InferInput("factor", [1], "FP64")
    factor.set_data_from_numpy(np.array([0.5]))
    result = client.infer("scale", [x, factor])
    np.testing.assert_array_equal(result.as_numpy("scaled"), [0.5, 1.0, 1.5])
    np.testing.assert_array_equal(result.as_numpy("total"), [6.0])

    bad = httpclient.InferInput("x", [2, 3], "FP32")
    bad.set_data_from_numpy(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(Exception, match=r"expected shape \(-1, 4\)"):
        client.infer("double", [bad])
    client.close()


@pytest.mark.parametrize("headers, body, reason", [
    ({"inference-header-content-length": "999"}, b'{"inputs": []}', "does not fit"),
    ({}, b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "BF16", "data": [1, 2, 3, 4]}]}',
     "datatype 'BF16' is not supported"),
    ({}, b'{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [1, 2]}]}', "do not fill"),
    ({"inference-header-content-length": "whole"},
     b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": 99}}]}',
     "does not match"),
    ({}, b"[1, 2]", "JSON object with an `inputs` list"),
    ({}, b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": ["FP32"], "data": [1, 2, 3, 4]}], '
         b'"outputs": 7}', "datatype ['FP32'] is not supported"),
    ({}, b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "INT8", "data": [1, 2, 3, 999]}], '
         b'"outputs": [{"name": "y", "parameters": 3}]}', "data is not INT8"),
    ({}, b'{"inputs": ' + b"[" * 100000 + b"]" * 100000 + b"}", "malformed JSON"),
])
def test_hostile_inference_requests_are_400(server: Server, headers: dict[str, str], body: bytes,
                                            reason: str) -> None:
    if headers.get("inference-header-content-length") == "whole":
        headers = {"inference-header-content-length": str(len(body))}
    reply = httpx.post(server.url + "/v2/models/double/infer", content=body, headers=headers)
    assert reply.status_code == 400, reply.text
    assert reason in json.loads(reply.content)["error"]


def test_raw_binary_inference_request(server: Server) -> None:
    data = np.arange(4, dtype=np.float32).reshape(1, 4)
    head = json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32",
                                   "parameters": {"binary_data_size": 16}}],
                       "parameters": {"binary_data_output": True}}).encode()
    reply = httpx.post(server.url + "/v2/models/double/infer", content=head + data.tobytes(),
                       headers={"inference-header-content-length": str(len(head))})
    assert reply.status_code == 200
    length = int(reply.headers["inference-header-content-length"])
    answer = json.loads(reply.content[:length])
    assert answer["outputs"][0]["parameters"] == {"binary_data_size": 16}
    np.testing.assert_array_equal(np.frombuffer(reply.content[length:], dtype="<f4").reshape(1, 4), data * 2)
    assert httpx.get(server.url + "/v2").json()["extensions"] == ["binary_tensor_data"]
    assert httpx.post(server.url + "/v2/health/ready").status_code == 405
