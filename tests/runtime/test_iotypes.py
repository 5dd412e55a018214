"""PIL images and pandas DataFrames as API inputs and outputs, BentoML's DataframeSchema and TensorSchema,
against a real `bento serve` on loopback (tests/runtime/iotypes/service.py), with real Pillow and pandas."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import httpx
import pandas as pd
import pytest
from openapi_spec_validator import validate
from PIL import Image
from utils import serve  # tests/utils.py

import bento

HERE = Path(__file__).resolve().parent / "iotypes"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    project = tmp_path_factory.mktemp("iotypes") / "iotypes"
    shutil.copytree(HERE, project)
    home = tmp_path_factory.mktemp("home")
    with serve(["service:Media"], cwd=project, env={"BENTO_HOME": str(home)}) as server:
        yield server.url


def _encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def _image(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


PNG = _encoded(Image.new("RGB", (10, 8), "red"), "PNG")
JPEG = _encoded(Image.new("RGB", (10, 8), "green"), "JPEG")


def test_an_image_comes_in_as_a_multipart_file_or_the_raw_body_and_goes_out_as_an_image(url: str) -> None:
    up = httpx.post(url + "/resize", files={"image": ("cat.png", PNG, "image/png")}, data={"height": "3"})
    assert up.status_code == 200 and up.headers["content-type"] == "image/png"
    assert _image(up.content).size == (6, 3)
    # the one required parameter, as the whole body: the others keep their defaults
    raw = httpx.post(url + "/resize", content=JPEG, headers={"content-type": "image/jpeg"})
    assert raw.status_code == 200 and raw.headers["content-type"] == "image/png"  # a new image: PNG
    assert _image(raw.content).size == (6, 4)
    same = httpx.post(url + "/echo", content=JPEG, headers={"content-type": "image/jpeg"})
    assert same.headers["content-type"] == "image/jpeg" and _image(same.content).format == "JPEG"  # as it came
    root = httpx.post(url + "/info", content=JPEG, headers={"content-type": "image/jpeg"})
    assert root.json() == {"size": [10, 8], "mode": "RGB", "format": "JPEG"}
    # ContentType on the return annotation picks the format (an RGBA image becomes a JPEG without alpha)
    thumb = httpx.post(url + "/thumbnail", files={"image": ("a.png", PNG, "image/png")})
    assert thumb.headers["content-type"] == "image/jpeg" and _image(thumb.content).size == (2, 2)


def test_images_that_are_not_or_of_the_wrong_type_are_400s_naming_the_field(url: str) -> None:
    junk = httpx.post(url + "/info", content=b"not an image", headers={"content-type": "image/png"})
    assert junk.status_code == 400 and junk.json()["detail"][0]["field"] == "image"
    assert "not an image" in junk.json()["message"]
    cut = httpx.post(url + "/resize", files={"image": ("cut.png", PNG[: len(PNG) // 2], "image/png")})
    assert cut.status_code == 400 and "image" in cut.json()["message"]
    wrong = httpx.post(url + "/only_png", files={"image": ("a.jpg", JPEG, "image/jpeg")})
    assert wrong.status_code == 400 and "expected content type image/png, got image/jpeg" in wrong.json()["message"]
    assert httpx.post(url + "/only_png", files={"image": ("a.png", PNG, "image/png")}).json() == 10
    named = httpx.post(url + "/resize", data={"image": "/etc/passwd"})  # a path is no upload
    assert named.status_code == 400
    bomb = _encoded(Image.new("1", (13500, 13500)), "PNG")  # 22 kB that would decode to 182 M pixels
    huge = httpx.post(url + "/info", content=bomb, headers={"content-type": "image/png"})
    assert huge.status_code == 400 and "image too large" in huge.json()["message"]


def test_a_dataframe_comes_in_as_records_columns_or_csv_and_goes_out_as_records(url: str) -> None:
    want = [{"stat": "mean", "a": 2.0, "b": 3.0}, {"stat": "max", "a": 3.0, "b": 4.0}]
    records = httpx.post(url + "/describe", json={"frame": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]})
    assert records.status_code == 200 and records.json() == want
    assert httpx.post(url + "/describe", json={"frame": {"a": [1, 3], "b": [2, 4]}}).json() == want
    csv = httpx.post(url + "/describe", content=b"a,b\n1,2\n3,4\n", headers={"content-type": "text/csv"})
    assert csv.status_code == 200 and csv.json() == want
    nan = httpx.post(url + "/describe", json={"frame": [{"a": 1, "b": None}, {"a": 3}]})
    assert nan.json()[0]["b"] is None  # NaN travels as null
    out = httpx.post(url + "/as_csv", json={"frame": [{"k": 2, "v": "x"}, {"k": 1, "v": "y"}]})
    assert out.headers["content-type"].startswith("text/csv") and out.text == "k,v\n1,y\n2,x\n"


def test_dataframe_schema_checks_columns_and_sets_the_orientation(url: str) -> None:
    iris = httpx.post(url + "/iris", json={"input": [{"petal_length": 1.5, "petal_width": 0.2, "extra": 1}]})
    assert iris.status_code == 200 and iris.json() == [0.3]
    missing = httpx.post(url + "/iris", json={"input": [{"petal_length": 1.5}]})
    assert missing.status_code == 400
    assert missing.json()["detail"] == [{"field": "input", "message": "Value error, missing column `petal_width`"}]
    cols = httpx.post(url + "/by_column", json={"frame": {"a": [1, 3], "b": [2, 4], "c": [0, 0]}})
    assert cols.json() == {"a": [1, 3], "b": [2, 4], "total": [3, 7]}  # orient="columns", extras dropped
    for bad in ("nope", [1, 2], {"a": [1, 2], "b": [3]}):
        answer = httpx.post(url + "/by_column", json={"frame": bad})
        assert answer.status_code == 400 and answer.json()["detail"][0]["field"] == "frame", bad
    rows = httpx.post(url + "/by_column", json={"frame": [[1, 2], [3, 4]]})  # rows take the schema's columns
    assert rows.json() == {"a": [1, 3], "b": [2, 4], "total": [3, 7]}
    broken = httpx.post(url + "/describe", content=b"\xff\xfe\x00", headers={"content-type": "text/csv"})
    assert broken.status_code == 400 and "text/csv" in broken.json()["message"]


def test_a_parquet_body_needs_pyarrow_on_the_server(url: str) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # the test extra does not install it: a clear 400, not a 500
        answer = httpx.post(url + "/describe", content=b"PAR1....PAR1",
                            headers={"content-type": "application/vnd.apache.parquet"})
        assert answer.status_code == 400 and "install pyarrow" in answer.json()["message"]
        return
    body = pd.DataFrame({"a": [1, 3], "b": [2, 4]}).to_parquet()
    answer = httpx.post(url + "/describe", content=body, headers={"content-type": "application/vnd.apache.parquet"})
    assert answer.json()[0] == {"stat": "mean", "a": 2.0, "b": 3.0}


def test_tensor_schema_converts_and_checks_dtype_and_shape(url: str) -> None:
    ok = httpx.post(url + "/tensor", json={"t": [[1, 2], [3, 4]]})
    assert ok.json() == {"dtype": "float32", "shape": [2, 2], "sum": 10.0}
    assert httpx.post(url + "/tensor", json={"t": [1, 2, 3, 4]}).json()["shape"] == [2, 2]  # reshaped, as BentoML
    shape = httpx.post(url + "/tensor", json={"t": [1, 2, 3]})
    assert shape.status_code == 400 and "expected shape (2, 2), got (3,)" in shape.json()["message"]
    dtype = httpx.post(url + "/int_tensor", json={"t": [1.5, 2.5]})
    assert dtype.status_code == 400 and "expected dtype int32, got float64" in dtype.json()["message"]
    assert httpx.post(url + "/int_tensor", json={"t": [1, 2]}).json() == [2, 4]
    strings = httpx.post(url + "/tensor", json={"t": [["a", "b"], ["c", "d"]]})
    assert strings.status_code == 400 and strings.json()["detail"][0]["field"] == "t"


def test_our_client_sends_and_returns_images_and_dataframes(url: str) -> None:
    with bento.SyncHTTPClient(url) as client:
        small = client.resize(image=Image.new("RGB", (10, 8), "blue"), height=3)
        assert isinstance(small, Image.Image) and small.size == (6, 3)
        assert client.info(Image.new("L", (5, 5)))["size"] == [5, 5]  # a root image: the raw body
        frame = pd.DataFrame({"a": [1, 2], "b": [3.0, None]})
        described = client.describe(frame=frame)
        assert isinstance(described, pd.DataFrame) and list(described.columns) == ["stat", "a", "b"]
        assert described["a"].tolist() == [1.5, 2.0]
        table = client.as_csv(frame=pd.DataFrame({"k": [2, 1]}))
        assert isinstance(table, pd.DataFrame) and table["k"].tolist() == [1, 2]


def test_dataframe_rows_of_concurrent_calls_are_batched_and_split_back(url: str) -> None:
    def call(i: int) -> Any:
        rows = [{"x": i}, {"x": i + 0.5}]
        return httpx.post(url + "/scores", json={"rows": rows}, timeout=30).json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, range(8)))
    for i, answer in enumerate(answers):
        assert [r["score"] for r in answer] == [i * 10, (i + 0.5) * 10]  # each caller gets its own rows
    assert max(r["batch"] for answer in answers for r in answer) > 2  # some calls ran as one batch


def test_openapi_stays_valid_and_describes_images_and_tables(url: str) -> None:
    doc = httpx.get(url + "/docs.json").json()
    validate(doc)
    resize = doc["paths"]["/resize"]["post"]
    assert resize["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["image"]["format"] == "binary"
    assert resize["responses"]["200"]["content"] == {"image/*": {"schema": {"type": "string", "format": "binary"}}}
    assert list(doc["paths"]["/thumbnail"]["post"]["responses"]["200"]["content"]) == ["image/jpeg"]
    iris = doc["paths"]["/iris"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert iris["properties"]["input"]["items"]["required"] == ["petal_length", "petal_width"]
    schema = {r["name"]: r for r in httpx.get(url + "/schema.json").json()["routes"]}
    assert schema["resize"]["output"]["pil"] is True and schema["resize"]["input"]["properties"]["image"]["type"] == "file"


def test_bento_and_a_plain_service_never_import_pillow_or_pandas(tmp_path: Path) -> None:
    code = ("import sys, bento, bentoml, bento.validators, bento.core.kinds\n"
            "print(json.dumps([m for m in ('PIL', 'pandas') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
    shutil.copy(HERE / "plain.py", tmp_path / "plain.py")
    with serve(["plain:Plain"], cwd=tmp_path) as server:
        assert httpx.post(server.url + "/heavy", json={"text": "x"}).json() == ["x"]


def test_between_services_an_image_object_passes_as_itself_and_a_file_name_does_not() -> None:
    import asyncio
    import pickle

    from bento.core.errors import InvalidArgument
    from bento.runtime.codec import PICKLE_TYPE, Decoder

    sys.path.insert(0, str(HERE))
    try:
        from service import Media
    finally:
        sys.path.remove(str(HERE))
    decoder = Decoder(Media.apis["resize"].signature, internal=True)
    image = Image.new("RGB", (3, 3))
    kwargs = asyncio.run(decoder.decode(PICKLE_TYPE, pickle.dumps({"image": image}), None, None))
    assert kwargs["image"] is not image and kwargs["image"].size == (3, 3) and kwargs["height"] == 4
    with pytest.raises(InvalidArgument, match="a string naming a file"):
        asyncio.run(decoder.decode(PICKLE_TYPE, pickle.dumps({"image": "/etc/passwd"}), None, None))
