"""Export/import: deterministic bytes, verified round trips, and hostile archives refused with nothing written."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest
import yaml
import zstandard

from bento.store import open_store, transfer
from bento.core.errors import AlreadyExists, IntegrityError, InvalidArgument, UnsafePath


def save(store, name="iris", files=None, **kw):  # type: ignore[no-untyped-def]
    files = files if files is not None else {"model.pkl": b"weights" * 100, "cfg/params.json": b"{}"}
    with store.models.create(name, **kw) as m:
        for rel, data in files.items():
            m.path_of(rel).write_bytes(data)
    return m.item


def test_exporting_twice_gives_identical_bytes_and_normalised_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store()
    item = save(store)
    a = transfer.export(store, "model", item.tag, tmp_path / "a.bentomodel")
    os.utime(item.path_of("model.pkl"), (1, 1))  # file times must not leak into the archive
    b = transfer.export(store, "model", item.tag, tmp_path / "b.bentomodel")
    assert Path(a).read_bytes() == Path(b).read_bytes()
    assert Path(a).read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # zstd
    with zstandard.ZstdDecompressor().stream_reader(open(a, "rb")) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
        members = [(m.name, m.uid, m.gid, m.uname, m.gname, m.mtime, m.mode) for m in tar]
    assert [m[0] for m in members] == ["model/model.yaml", "model/cfg/params.json", "model/model.pkl"]
    assert {m[1:] for m in members} == {(0, 0, "", "", 0, 0o644)}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    c = transfer.export(store, "model", item.tag, tmp_path / "c.bentomodel")
    with zstandard.ZstdDecompressor().stream_reader(open(c, "rb")) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
        assert {m.mtime for m in tar} == {1700000000}


def test_export_to_directory_uses_name_and_version(tmp_path: Path) -> None:
    store = open_store()
    item = save(store)
    out = transfer.export(store, "model", "iris", tmp_path)
    assert Path(out) == tmp_path / f"iris-{item.version}.bentomodel"


def test_import_into_another_home_round_trips_and_is_idempotent(tmp_path: Path) -> None:
    src = open_store(tmp_path / "home-a")
    item = save(src, labels={"k": "v"})
    archive = transfer.export(src, "model", item.tag, tmp_path / "x.bentomodel")
    dst = open_store(tmp_path / "home-b")
    imported, existed = transfer.import_archive(dst, "model", archive)
    assert (imported.tag, imported.digest, existed) == (item.tag, item.digest, False)
    assert imported.info["labels"] == {"k": "v"}
    assert dst.models.verify(item.tag) == []
    again, existed = transfer.import_archive(dst, "model", archive)
    assert existed is True and again.tag == item.tag
    # re-exporting the imported copy gives the same bytes: archives are portable and reproducible
    assert Path(transfer.export(dst, "model", item.tag, tmp_path / "y.bentomodel")).read_bytes() == Path(archive).read_bytes()


def test_gzip_archives_are_readable(tmp_path: Path) -> None:
    src = open_store(tmp_path / "a")
    item = save(src)
    archive = transfer.export(src, "model", item.tag, tmp_path / "x.bentomodel", compression="gzip")
    assert Path(archive).read_bytes()[:2] == b"\x1f\x8b"
    dst = open_store(tmp_path / "b")
    assert transfer.import_archive(dst, "model", archive)[0].digest == item.digest


def test_import_refuses_same_tag_with_different_content(tmp_path: Path) -> None:
    src = open_store(tmp_path / "a")
    dst = open_store(tmp_path / "b")
    save(src, files={"f": b"one"}, version="v1")
    save(dst, files={"f": b"two"}, version="v1")
    archive = transfer.export(src, "model", "iris:v1", tmp_path / "x.bentomodel")
    with pytest.raises(AlreadyExists, match="iris:v1"):
        transfer.import_archive(dst, "model", archive)
    assert dst.models.get("iris:v1").path_of("f").read_bytes() == b"two"


def test_export_refuses_an_altered_item(tmp_path: Path) -> None:
    store = open_store()
    item = save(store)
    data = item.path_of("model.pkl").read_bytes()
    item.path_of("model.pkl").write_bytes(data[:-1] + b"X")
    with pytest.raises(IntegrityError, match="altered"):
        transfer.export(store, "model", item.tag, tmp_path / "x.bentomodel")
    assert list(tmp_path.glob("*.bentomodel*")) == []


# ---- hostile archives --------------------------------------------------------------------------------
def _manifest(files: dict[str, bytes]) -> bytes:
    from bento.store.manifest import content_digest

    entries = [{"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for p, d in sorted(files.items())]
    return yaml.safe_dump({"name": "evil", "version": "v1", "labels": {}, "metadata": {},
                           "size": sum(len(d) for d in files.values()), "digest": content_digest(entries),
                           "files": entries}).encode()


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]], compress: str = "gzip") -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tar.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tar.addfile(info, io.BytesIO(m[1]))
    raw = buf.getvalue()
    path.write_bytes(gzip.compress(raw) if compress == "gzip" else zstandard.ZstdCompressor().compress(raw))
    return path


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def _device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    return info


GOOD = {"model.pkl": b"ok"}
HOSTILE = {
    "absolute path": ([("model/model.yaml", _manifest(GOOD)), ("/tmp/evil-abs", b"x")], UnsafePath),
    "dot-dot": ([("model/model.yaml", _manifest(GOOD)), ("model/../../evil-dotdot", b"x")], UnsafePath),
    "symlink outside": ([("model/model.yaml", _manifest(GOOD)), _link("model/model.pkl", "/etc/passwd", tarfile.SYMTYPE)], UnsafePath),
    "symlink dot-dot": ([("model/model.yaml", _manifest(GOOD)), _link("model/model.pkl", "../../../x", tarfile.SYMTYPE)], UnsafePath),
    "hardlink outside": ([("model/model.yaml", _manifest(GOOD)), _link("model/model.pkl", "/etc/passwd", tarfile.LNKTYPE)], UnsafePath),
    "device file": ([("model/model.yaml", _manifest(GOOD)), _device("model/model.pkl")], UnsafePath),
    "altered content": ([("model/model.yaml", _manifest(GOOD)), ("model/model.pkl", b"NO")], IntegrityError),
    "missing file": ([("model/model.yaml", _manifest({"model.pkl": b"ok", "b": b"1"})), ("model/model.pkl", b"ok")], IntegrityError),
    "extra file": ([("model/model.yaml", _manifest(GOOD)), ("model/model.pkl", b"ok"), ("model/x.py", b"1")], IntegrityError),
    "no manifest": ([("model/model.pkl", b"ok")], IntegrityError),
    "outside layout": ([("model/model.yaml", _manifest(GOOD)), ("model/model.pkl", b"ok"), ("other/x", b"1")], UnsafePath),
    "duplicate member": ([("model/model.yaml", _manifest(GOOD)), ("model/model.pkl", b"ok"), ("model/model.pkl", b"ok")], UnsafePath),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("compress", ["gzip", "zstd"])
def test_hostile_archives_are_refused_and_nothing_is_written(case: str, compress: str, tmp_path: Path, bento_home: Path) -> None:
    members, error = HOSTILE[case]
    archive = _tar(tmp_path / "evil.bentomodel", members, compress)
    before = {p for p in tmp_path.rglob("*")}
    with pytest.raises(error):
        transfer.import_archive(open_store(), "model", archive)
    assert open_store().models.list() == []
    assert not (bento_home / "models" / "evil").exists()
    assert list((bento_home / ".tmp").iterdir()) == []
    assert {p for p in tmp_path.rglob("*")} - before == {bento_home, bento_home / ".tmp"}  # nothing else
    assert not Path("/tmp/evil-abs").exists()


def test_garbage_is_not_an_archive(tmp_path: Path) -> None:
    bad = tmp_path / "x.bentomodel"
    bad.write_bytes(b"\x28\xb5\x2f\xfd" + os.urandom(100))
    with pytest.raises(IntegrityError, match="not a readable bento archive"):
        transfer.import_archive(open_store(), "model", bad)


def test_importing_a_bento_archive_as_a_model_names_the_right_command(tmp_path: Path) -> None:
    store = open_store()
    with store.bentos.create("svc", version="v1") as b:
        b.path_of("f").write_text("x")
    archive = transfer.export(store, "bento", "svc:v1", tmp_path / "svc.bento")
    with pytest.raises(InvalidArgument, match="bento import"):
        transfer.import_archive(open_store(tmp_path / "other"), "model", archive)
