"""Bentos carry their models through export/import and push/pull to fsspec URLs (memory://, file://)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import bento
from bento.store import open_store, transfer
from bento.core.errors import IntegrityError, NotFound


def build_bento(store, version: str = "v1"):  # type: ignore[no-untyped-def]
    with store.models.create("iris", labels={"stage": "prod"}) as m:
        m.path_of("model.pkl").write_bytes(b"w" * 1000)
    model = m.item
    refs = [{"tag": model.tag, "digest": model.digest}]
    with store.bentos.create("iris_svc", version=version, extra={"service": "service:Iris", "models": refs}) as b:
        b.path_of("src/service.py").write_text("print('hi')\n")
    return b.item, model


def test_bento_archive_carries_and_restores_its_models(tmp_path: Path) -> None:
    src = open_store(tmp_path / "a")
    item, model = build_bento(src)
    archive = transfer.export(src, "bento", item.tag, tmp_path)
    assert archive.endswith("iris_svc-v1.bento")
    dst = open_store(tmp_path / "b")
    imported, existed = transfer.import_archive(dst, "bento", archive)
    assert (imported.tag, existed) == ("iris_svc:v1", False)
    assert dst.models.get(model.tag).digest == model.digest
    assert dst.models_of(imported) == [dst.models.get(model.tag)]
    assert dst.models.verify(model.tag) == [] and dst.bentos.verify(imported.tag) == []


def test_export_fails_when_a_referenced_model_changed(tmp_path: Path) -> None:
    store = open_store()
    item, model = build_bento(store)
    store.models.delete(model.tag, force=True)
    with store.models.create("iris", version=model.version) as m:
        m.path_of("model.pkl").write_bytes(b"different")
    with pytest.raises(IntegrityError, match="was built with model"):
        transfer.export(store, "bento", item.tag, tmp_path)
    assert transfer.export(store, "bento", item.tag, tmp_path / "x.bento", include_models=False)


def test_push_pull_memory_and_file_urls(tmp_path: Path) -> None:
    src = open_store(tmp_path / "a")
    item, model = build_bento(src)
    for url in (f"memory://remote-{uuid.uuid4().hex}", (tmp_path / "remote").as_uri()):
        where = transfer.push(src, "bento", "iris_svc", url)
        assert where.endswith("bentos/iris_svc/v1.bento")
        dst = open_store(tmp_path / f"dst-{uuid.uuid4().hex[:6]}")
        pulled, existed = transfer.pull(dst, "bento", "iris_svc:latest", url)
        assert pulled.digest == item.digest and existed is False
        assert dst.models.get("iris").digest == model.digest
        assert transfer.pull(dst, "bento", "iris_svc:v", url)[1] is True  # version prefix; already there
        with pytest.raises(NotFound, match="nope:latest not found"):
            transfer.pull(dst, "bento", "nope", url)


def test_sdk_push_pull_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"memory://sdk-{uuid.uuid4().hex}"
    with bento.models.create("tiny") as m:
        m.path_of("w").write_bytes(b"123")
    bento.models.push("tiny:latest", url)
    monkeypatch.setenv("BENTO_HOME", str(tmp_path / "elsewhere"))
    with pytest.raises(NotFound):
        bento.models.get("tiny")
    pulled = bento.models.pull("tiny", url)
    assert pulled.tag == m.tag and pulled.path_of("w").read_bytes() == b"123"


def test_sdk_bentos_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    item, model = build_bento(open_store())
    assert [b.tag for b in bento.bentos.list()] == ["iris_svc:v1"]
    assert bento.bentos.get("iris_svc").models == [model.tag]
    out = bento.bentos.export_bento("iris_svc:v1", tmp_path / "out.bento")
    monkeypatch.setenv("BENTO_HOME", str(tmp_path / "other"))
    restored = bento.bentos.import_bento(out)
    assert restored.tag == "iris_svc:v1" and bento.models.get(model.tag).digest == model.digest
    bento.bentos.delete("iris_svc:v1")
    assert bento.bentos.list() == []
    assert bento.models.get(model.tag)  # models stay
