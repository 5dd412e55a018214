"""ModelRecord: how a served bento resolves the model references of its code against what it recorded."""

from __future__ import annotations

from typing import Iterator

import pytest

import bento
from bento.errors import IntegrityError, NotFound
from bento.store import open_store, pins


@pytest.fixture
def three_versions() -> Iterator[list[str]]:
    tags = [bento.models.save_model("clf", {"n": i}).tag for i in range(3)]
    bento.models.save_model("other", 1)
    yield tags
    pins.deactivate()


def _record(*tags: str) -> pins.ModelRecord:
    store = open_store()
    refs = [{"tag": t, "digest": store.models.get(t).digest} for t in tags]
    return pins.ModelRecord.from_manifest({"name": "svc", "version": "v1", "models": refs}, "bento.yaml")


def test_latest_a_name_and_a_prefix_resolve_to_the_recorded_version(three_versions: list[str]) -> None:
    old = three_versions[0]
    record = _record(old)
    store = open_store()
    for ref in ("clf", "clf:latest", old, "clf:" + old.split(":")[1][:17]):
        assert record.resolve(store, ref).tag == old
    pins.activate(record)
    assert bento.models.get("clf:latest").tag == old  # what a service's class attribute sees
    assert bento.models.get("clf:latest").load_model() == {"n": 0}
    pins.deactivate()
    assert bento.models.get("clf:latest").tag == three_versions[2]


def test_with_two_recorded_versions_latest_is_the_newer_of_them(three_versions: list[str]) -> None:
    record = _record(three_versions[0], three_versions[1])
    assert record.resolve(open_store(), "clf:latest").tag == three_versions[1]
    assert record.resolve(open_store(), three_versions[0]).tag == three_versions[0]


def test_an_unrecorded_name_or_version_is_an_error_not_the_store_s_version(three_versions: list[str]) -> None:
    record = _record(three_versions[0])
    with pytest.raises(NotFound, match=r"model other:latest is not recorded in bento svc:v1 \(it records: clf:"):
        record.resolve(open_store(), "other:latest")
    with pytest.raises(NotFound, match="rebuild the bento to use another version"):
        record.resolve(open_store(), three_versions[2])


def test_a_recorded_digest_that_differs_from_the_store_s_is_an_integrity_error(three_versions: list[str]) -> None:
    record = pins.ModelRecord.from_manifest(
        {"name": "svc", "version": "v1", "models": [{"tag": three_versions[0], "digest": "0" * 64}]}, "bento.yaml")
    with pytest.raises(IntegrityError, match=r"\(digest 000000000000\), but the stored .* has digest"):
        record.check(open_store())


def test_a_manifest_model_without_an_exact_version_is_refused() -> None:
    with pytest.raises(bento.errors.InvalidArgument, match="no exact version"):  # type: ignore[attr-defined]
        pins.ModelRecord.from_manifest({"name": "s", "version": "v", "models": [{"tag": "clf:latest"}]}, "b.yaml")
