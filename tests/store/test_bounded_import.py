"""Archives that lie: reserved versions, decompression bombs, members nested under files, sizes past the disk.

Each is refused with a named error (one `error:` line from the CLI), nothing is written past what the
manifest declares, and the store is left exactly as it was, with no scratch behind.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import zstandard

from archive_kit import manifest, member, write_archive, write_bomb
from bento.core.errors import IntegrityError, InvalidArgument, StoreFull, UnsafePath
from bento.store import open_store, transfer
from utils import run_cli


def assert_untouched(home: Path) -> None:
    store = open_store(home)
    assert store.models.list() == []
    assert not (home / "models" / "evil").exists()
    assert list((home / ".tmp").iterdir()) == []


# ---- 8. reserved versions ----------------------------------------------------------------------------
def test_an_archive_claiming_version_latest_is_refused_and_the_name_stays_usable(tmp_path: Path, bento_home: Path) -> None:
    data = b"weights"
    archive = write_archive(tmp_path / "evil.bentomodel",
                            [member("model/model.yaml", manifest({"w.bin": data}, version="latest")),
                             member("model/w.bin", data)])
    with pytest.raises(InvalidArgument, match="'latest' is reserved"):
        transfer.import_archive(open_store(), "model", archive)
    assert_untouched(bento_home)

    cli = run_cli("models", "import", str(archive))
    assert cli.returncode == InvalidArgument.exit_code, cli.stderr
    assert cli.stderr.startswith("error: ") and "'latest' is reserved" in cli.stderr and "Traceback" not in cli.stderr
    assert_untouched(bento_home)

    # the name is as usable as before: save, get, delete
    store = open_store()
    with store.models.create("evil") as m:
        m.path_of("w.bin").write_bytes(b"mine")
    assert store.models.get("evil").path_of("w.bin").read_bytes() == b"mine"
    store.models.delete("evil:latest")
    assert store.models.list() == []


def test_pull_refuses_an_archive_claiming_version_latest(tmp_path: Path, bento_home: Path) -> None:
    remote = tmp_path / "remote"
    folder = remote / "models" / "evil"
    folder.mkdir(parents=True)
    data = b"weights"
    write_archive(folder / "v1.bentomodel", [member("model/model.yaml", manifest({"w.bin": data}, version="latest")),
                                             member("model/w.bin", data)])
    (folder / "latest").write_text("v1")
    with pytest.raises(InvalidArgument, match="'latest' is reserved"):
        transfer.pull(open_store(), "model", "evil", f"file://{remote}")
    assert_untouched(bento_home)


def test_a_copy_claiming_version_latest_is_refused(tmp_path: Path, bento_home: Path) -> None:
    # publish() is the last gate whatever the path in (import, pull, copy)
    store = open_store()
    staging = tmp_path / "staged"
    staging.mkdir()
    with pytest.raises(InvalidArgument, match="'latest' is reserved"):
        store.models.publish(staging, {"name": "evil", "version": "latest", "digest": "x"})
    assert not (bento_home / "models" / "evil" / "latest").exists()


# ---- 9. bounded extraction ---------------------------------------------------------------------------
def test_a_decompression_bomb_stops_at_its_first_header(tmp_path: Path, bento_home: Path) -> None:
    declared = b"tiny"
    bomb = write_bomb(tmp_path / "bomb.bentomodel", [member("model/model.yaml", manifest({"w.bin": declared}))],
                      "model/w.bin", 1 << 30)
    assert bomb.stat().st_size < 200_000  # 1 GiB behind a few dozen kilobytes
    written: list[int] = []
    with pytest.raises(IntegrityError, match=r"holds 1073741824 bytes but its manifest declares 4"):
        transfer.import_archive(open_store(), "model", bomb, progress=written.append)
    assert sum(written) == 0  # not one byte of the member was extracted
    assert_untouched(bento_home)

    cli = run_cli("models", "import", str(bomb))
    assert cli.returncode == IntegrityError.exit_code
    assert cli.stderr.count("\n") == 1 and cli.stderr.startswith("error: archive member 'model/w.bin' holds")
    assert_untouched(bento_home)


def test_an_unlisted_member_is_refused_before_it_is_extracted(tmp_path: Path, bento_home: Path) -> None:
    data = b"ok"
    bomb = write_bomb(tmp_path / "bomb.bentomodel", [member("model/model.yaml", manifest({"w.bin": data})),
                                                     member("model/w.bin", data)], "model/extra.bin", 1 << 30)
    written: list[int] = []
    with pytest.raises(IntegrityError, match="'model/extra.bin' is not in the manifest"):
        transfer.import_archive(open_store(), "model", bomb, progress=written.append)
    assert sum(written) == len(data)
    assert_untouched(bento_home)


def test_tar_headers_cannot_expand_past_what_the_manifest_declares(tmp_path: Path, bento_home: Path) -> None:
    # A PAX record is read into memory by any tar reader: 32 MiB of "comment" after a 2-byte model.
    data = b"ok"
    padded = tarfile.TarInfo("model/w.bin")
    padded.size = len(data)
    padded.pax_headers = {"comment": "A" * (32 << 20)}
    archive = write_archive(tmp_path / "pax.bentomodel",
                            [member("model/model.yaml", manifest({"w.bin": data})), (padded, data)])
    with pytest.raises(IntegrityError, match="expands to more than its manifests declare"):
        transfer.import_archive(open_store(), "model", archive)
    assert_untouched(bento_home)


@pytest.mark.parametrize("listed", [["w.bin"], ["w.bin", "w.bin/x"]], ids=["unlisted", "listed"])
def test_a_member_nested_under_a_file_is_a_clear_error(listed: list[str], tmp_path: Path, bento_home: Path) -> None:
    files = {p: b"x" for p in listed}
    archive = write_archive(tmp_path / "nested.bentomodel",
                            [member("model/model.yaml", manifest(files)), member("model/w.bin", b"x"),
                             member("model/w.bin/x", b"x")])
    match = "'w.bin' as a file and 'w.bin/x' under it" if len(listed) == 2 else "'model/w.bin/x' is not in the manifest"
    with pytest.raises(IntegrityError, match=match):
        transfer.import_archive(open_store(), "model", archive)
    assert_untouched(bento_home)
    cli = run_cli("models", "import", str(archive))
    assert cli.returncode == IntegrityError.exit_code and cli.stderr.startswith("error: ")
    assert "Traceback" not in cli.stderr


def test_a_declared_size_past_the_free_space_is_refused_before_extracting(tmp_path: Path, bento_home: Path) -> None:
    huge = 1 << 50  # 1 PiB: no test machine has it free
    head = tarfile.TarInfo("model/w.bin")
    head.size = huge
    archive = tmp_path / "huge.bentomodel"
    mf = manifest({"w.bin": huge})
    info, _ = member("model/model.yaml", mf)
    raw = info.tobuf(tarfile.PAX_FORMAT) + mf + b"\0" * (-len(mf) % 512) + head.tobuf(tarfile.PAX_FORMAT) + bytes(4096)
    archive.write_bytes(zstandard.ZstdCompressor().compress(raw))
    with pytest.raises(StoreFull, match=rf"no space left in the store {bento_home} for importing model evil:v1: "
                                        r"it needs 1024\.0 TiB"):
        transfer.import_archive(open_store(), "model", archive)
    assert_untouched(bento_home)
    cli = run_cli("models", "import", str(archive))
    assert cli.returncode == StoreFull.exit_code and cli.stderr.startswith("error: no space left in the store")


def test_a_model_stored_under_another_tag_in_a_bento_archive_is_refused(tmp_path: Path, bento_home: Path) -> None:
    data = b"w"
    bento_mf = manifest({"f": b"x"}, name="svc")
    archive = write_archive(tmp_path / "svc.bento", [
        member("bento/bento.yaml", bento_mf), member("bento/f", b"x"),
        member("models/iris/v1/model.yaml", manifest({"w.bin": data}, name="other", version="v9")),
        member("models/iris/v1/w.bin", data)])
    with pytest.raises(IntegrityError, match="stored under models/iris/v1/"):
        transfer.import_archive(open_store(), "bento", archive)
    assert open_store().bentos.list() == [] and open_store().models.list() == []
    assert list((bento_home / ".tmp").iterdir()) == []


def test_the_bounded_reader_still_round_trips_a_bento_with_its_models(tmp_path: Path) -> None:
    src = open_store(tmp_path / "a")
    with src.models.create("iris", version="v1") as m:
        m.path_of("w/deep/weights.bin").write_bytes(b"1" * 300_000)
    with src.bentos.create("svc", version="v1", extra={"models": [{"tag": "iris:v1", "digest": m.item.digest}]}) as b:
        b.path_of("src/service.py").write_text("x = 1\n")
    out = transfer.export(src, "bento", "svc:v1", tmp_path / "svc.bento")
    dst = open_store(tmp_path / "b")
    item, existed = transfer.import_archive(dst, "bento", out)
    assert (item.tag, existed) == ("svc:v1", False)
    assert dst.models.verify("iris:v1") == [] and dst.bentos.verify("svc:v1") == []
