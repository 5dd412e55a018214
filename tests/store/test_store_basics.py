"""Tags, create/publish, latest, list, delete: the store as a training script and the builder use it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bento.store import open_store
from bento.core.errors import AlreadyExists, InUse, InvalidArgument, NotFound, UnsafePath


def save(store, name: str, files: dict[str, bytes], **kw):  # type: ignore[no-untyped-def]
    with store.models.create(name, **kw) as m:
        for rel, data in files.items():
            m.path_of(rel).write_bytes(data)
    return m.item


def test_create_publishes_files_and_manifest(bento_home: Path) -> None:
    store = open_store()
    assert store.root == bento_home
    item = save(store, "iris_sklearn", {"model.pkl": b"abc", "sub/dir/w.bin": b"12345"},
                labels={"team": "ml"}, metadata={"acc": 0.97})
    assert item.path == bento_home / "models" / "iris_sklearn" / item.version
    assert item.path_of("sub/dir/w.bin").read_bytes() == b"12345"
    info = item.info
    assert info["labels"] == {"team": "ml"} and info["metadata"] == {"acc": 0.97}
    assert info["size"] == 8
    assert [f["path"] for f in info["files"]] == ["model.pkl", "sub/dir/w.bin"]
    assert (item.path / "model.yaml").is_file()
    assert store.models.verify(item.tag) == []
    assert list((bento_home / ".tmp").iterdir()) == []


def test_block_that_raises_leaves_nothing_behind(bento_home: Path) -> None:
    store = open_store()
    with pytest.raises(RuntimeError, match="training failed"):
        with store.models.create("iris") as m:
            m.path_of("model.pkl").write_bytes(b"partial")
            raise RuntimeError("training failed")
    assert store.models.list() == []
    assert not store.models.exists("iris")
    assert list((bento_home / ".tmp").iterdir()) == []


def test_tags_resolve_latest_name_version_and_prefix() -> None:
    store = open_store()
    a = save(store, "m", {"f": b"1"})
    b = save(store, "m", {"f": b"2"})
    assert a.version < b.version  # generated versions sort by creation time
    assert store.models.get("m").version == b.version
    assert store.models.get("m:latest").version == b.version
    assert store.models.get(f"m:{a.version}").version == a.version
    assert store.models.get(f"m:{a.version[:-2]}").version == a.version
    assert [i.version for i in store.models.list()] == [b.version, a.version]
    with pytest.raises(InvalidArgument, match="ambiguous"):
        store.models.get("m:2")


def test_not_found_names_the_tag_and_home(bento_home: Path) -> None:
    with pytest.raises(NotFound) as exc:
        open_store().models.get("iris_sklearn:latest")
    assert str(exc.value) == (
        f"model iris_sklearn:latest not found in {bento_home}; list the stored models with `bento models list`, "
        "or save it first by running the training script that calls bento.models.save_model()/create() "
        "(e.g. `python train.py`)")
    with pytest.raises(NotFound, match=r"bento iris:latest not found in .*; list the built bentos with "
                                       r"`bento list`, or build it with `bento build`"):
        open_store().bentos.get("iris")
    with pytest.raises(NotFound, match="model iris_sklearn:latest not found"):
        open_store().models.get("iris_sklearn")


@pytest.mark.parametrize("tag", ["Iris", "../etc", "a/b", "-x", ".hidden", "x" * 64, "ok:UP", "ok:../../x", ""])
def test_bad_tags_are_refused_with_a_named_error(tag: str) -> None:
    with pytest.raises(InvalidArgument, match="tag|name"):
        open_store().models.get(tag)


def test_uppercase_name_suggests_lowercase() -> None:
    with pytest.raises(InvalidArgument, match="try 'iris_model'"):
        open_store().models.get("Iris_Model")


def test_paths_inside_an_item_cannot_escape(tmp_path: Path) -> None:
    store = open_store()
    with pytest.raises(UnsafePath):
        with store.models.create("m") as m:
            m.path_of("../outside.txt")
    assert not (tmp_path / "bento-home" / ".tmp" / "outside.txt").exists()
    item = save(store, "m", {"f": b"1"})
    for bad in ("../../x", "/etc/passwd", "a/../../b"):
        with pytest.raises(UnsafePath):
            item.path_of(bad)


def test_manifest_name_is_reserved() -> None:
    with pytest.raises(InvalidArgument, match="reserved"):
        with open_store().models.create("m") as m:
            m.path_of("model.yaml")


def test_symlinks_are_replaced_by_copies(tmp_path: Path) -> None:
    outside = tmp_path / "cache.bin"
    outside.write_bytes(b"weights")
    store = open_store()
    with store.models.create("m") as m:
        os.symlink(outside, m.path / "w.bin")
    item = m.item
    assert not (item.path / "w.bin").is_symlink()
    assert item.path_of("w.bin").read_bytes() == b"weights"
    assert store.models.verify(item.tag) == []


def test_explicit_version_same_content_is_a_noop_different_is_refused() -> None:
    store = open_store()
    with store.bentos.create("svc", version="abc123") as b:
        b.path_of("src/service.py").write_text("x = 1\n")
    assert b.existed is False
    with store.bentos.create("svc", version="abc123") as b2:
        b2.path_of("src/service.py").write_text("x = 1\n")
    assert b2.existed is True and b2.item.digest == b.item.digest
    with pytest.raises(AlreadyExists, match="svc:abc123 already exists"):
        with store.bentos.create("svc", version="abc123") as b3:
            b3.path_of("src/service.py").write_text("x = 2\n")
    assert store.bentos.get("svc:abc123").path_of("src/service.py").read_text() == "x = 1\n"


def test_bentos_need_a_version_and_honour_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store()
    with pytest.raises(InvalidArgument, match="explicit version"):
        with store.bentos.create("svc"):
            pass
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    with store.bentos.create("svc", version="v1", extra={"service": "service:Svc"}) as b:
        b.path_of("f").write_text("1")
    assert b.item.info["creation_time"] == "2023-11-14T22:13:20.000000+00:00"
    assert b.item.info["service"] == "service:Svc"


def test_digest_depends_on_content_only() -> None:
    store = open_store()
    a = save(store, "a", {"f": b"same"}, labels={"x": "1"})
    b = save(store, "b", {"f": b"same"})
    c = save(store, "c", {"f": b"other"})
    assert a.digest == b.digest != c.digest


def test_delete_updates_latest_and_refuses_models_a_bento_uses() -> None:
    store = open_store()
    old = save(store, "m", {"f": b"1"})
    new = save(store, "m", {"f": b"2"})
    with store.bentos.create("svc", version="v1", extra={"models": [{"tag": new.tag, "digest": new.digest}]}) as b:
        b.path_of("f").write_text("x")
    with pytest.raises(InUse, match=f"bento svc:v1"):
        store.models.delete(new.tag)
    assert store.models.exists(new.tag)
    store.models.delete(new.tag, force=True)
    assert store.models.get("m:latest").version == old.version
    store.models.delete("m")
    with pytest.raises(NotFound):
        store.models.get("m")
    assert store.models.list() == []


def test_copy_in_copies_and_verifies(tmp_path: Path) -> None:
    src = open_store(tmp_path / "a")
    dst = open_store(tmp_path / "b")
    item = save(src, "m", {"w/f.bin": os.urandom(3000)})
    copied = dst.models.copy_in(item)
    assert copied.tag == item.tag and copied.digest == item.digest
    assert copied.manifest_path.read_bytes() == item.manifest_path.read_bytes()
    assert dst.models.verify(item.tag) == []
    assert dst.models.copy_in(item) == copied  # same content: nothing to do
    tampered = save(src, "t", {"f": b"good"})
    tampered.path_of("f").write_bytes(b"evil")
    from bento.core.errors import IntegrityError

    with pytest.raises(IntegrityError, match="altered"):
        dst.models.copy_in(tampered)
    assert not dst.models.exists("t")


def test_unserialisable_labels_fail_before_the_block_runs() -> None:
    ran = False
    with pytest.raises(InvalidArgument, match="plain data"):
        with open_store().models.create("m", metadata={"obj": object()}):
            ran = True
    assert not ran


def test_get_checked_catches_edits_even_of_the_same_size_and_forgives_touch() -> None:
    from bento.core.errors import IntegrityError

    store = open_store()
    item = save(store, "m", {"a.bin": b"aaaa", "b.bin": b"bbbb"})
    assert store.models.get_checked("m") == item
    os.utime(item.path_of("b.bin"), (1, 1))  # metadata only: re-hashed once, then trusted again
    assert store.models.get_checked("m") == item
    item.path_of("a.bin").write_bytes(b"aaab")
    with pytest.raises(IntegrityError, match="altered since it was saved: altered file: a.bin"):
        store.models.get_checked("m")
    with pytest.raises(IntegrityError):
        import bento

        bento.models.get("m")
    assert store.models.get("m") == item  # the plain lookup still resolves, e.g. for delete
    store.models.delete("m")
    assert not list((store.root / "models" / "m").glob(".stat-*"))
