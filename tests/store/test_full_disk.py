"""A store on a real 8 MiB tmpfs that fills up: saves and imports fail with StoreFull, the store unchanged."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from bento.core.errors import StoreFull
from bento.store import open_store, transfer
from utils import run_cli


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs (needs root and mount rights, as in CI containers run privileged)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}); needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _store_state(home: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, files in os.walk(home):
        for fn in files:
            p = Path(dirpath) / fn
            if not fn.startswith(".stat-") and fn != ".lock":
                out[str(p.relative_to(home))] = p.read_bytes()
    return out


def test_saving_past_a_full_disk_raises_store_full_and_changes_nothing(small_disk: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    home = small_disk / "home"
    monkeypatch.setenv("BENTO_HOME", str(home))
    store = open_store()
    with store.models.create("iris", version="v1") as m:
        m.path_of("w.bin").write_bytes(b"small")
    before = _store_state(home)

    with pytest.raises(StoreFull) as caught:
        with store.models.create("iris", version="v2") as m:
            with open(m.path_of("w.bin"), "wb") as f:
                for _ in range(16):
                    f.write(os.urandom(1 << 20))
    message = str(caught.value)
    assert message.startswith(f"no space left in the store {home} for saving model iris:v2: it needs more than ")
    assert "MiB written when the disk filled" in message and caught.value.exit_code == 11
    assert _store_state(home) == before  # `latest` still names v1, nothing else appeared
    assert store.models.get("iris").version == "v1" and store.models.verify("iris:v1") == []
    assert list((home / ".tmp").iterdir()) == []  # the scratch copy is gone at once, not after a grace period


def test_importing_more_than_the_disk_holds_is_refused_with_one_error_line(small_disk: Path, tmp_path: Path) -> None:
    src = open_store(tmp_path / "big-home")
    with src.models.create("big", version="v1") as m:
        m.path_of("w.bin").write_bytes(os.urandom(12 << 20))
    archive = transfer.export(src, "model", "big:v1", tmp_path / "big.bentomodel")
    home = small_disk / "home"

    cli = run_cli("models", "import", archive, env={"BENTO_HOME": str(home)})
    assert cli.returncode == StoreFull.exit_code, cli.stderr
    assert cli.stderr.startswith(f"error: no space left in the store {home} for importing model big:v1: "
                                 "it needs 12.0 MiB, ")
    assert cli.stderr.count("\n") == 1
    assert open_store(home).models.list() == []
    assert list((home / ".tmp").iterdir()) == []


def test_a_disk_that_fills_during_an_import_is_store_full_too(small_disk: Path, tmp_path: Path) -> None:
    # The free-space check passes, then another writer takes the room while we extract.
    src = open_store(tmp_path / "big-home")
    with src.models.create("big", version="v1") as m:
        for i in range(6):
            m.path_of(f"part{i}.bin").write_bytes(os.urandom(1 << 20))
    archive = transfer.export(src, "model", "big:v1", tmp_path / "big.bentomodel")
    home = small_disk / "home"
    filler = small_disk / f"filler-{uuid.uuid4().hex}"
    taken: list[int] = []

    def hog(n: int) -> None:  # runs after each chunk is written: fill the disk once the import is under way
        if not taken:
            with open(filler, "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * (256 << 10))
                except OSError:
                    pass
            taken.append(filler.stat().st_size)

    with pytest.raises(StoreFull, match=rf"no space left in the store {home} for importing model big:v1: it needs 6\.0 MiB"):
        transfer.import_archive(open_store(home), "model", archive, progress=hog)
    assert taken and open_store(home).models.list() == []
    assert list((home / ".tmp").iterdir()) == []
