"""Publishing is durable: the real system calls of a save and of an import, recorded with strace, show every
file, the manifest and every staging directory fsynced before the rename that publishes, and the name's
folder fsynced after it. (A power cut cannot be simulated in a test; the order of these calls is what makes
an item survive one whole or not at all.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bento.store import open_store, transfer

SAVE = """
from bento.store import open_store
with open_store().models.create("iris", version="v1") as m:
    m.path_of("w.bin").write_bytes(b"w" * 300_000)
    m.path_of("sub/cfg.json").write_bytes(b"{}")
"""

IMPORT = """
import sys
from bento.store import open_store, transfer
transfer.import_archive(open_store(), "model", sys.argv[1])
"""


@dataclass
class Trace:
    fsynced: list[tuple[int, str]]  # (line of completion, path)
    renames: list[tuple[int, str, str]]

    def rename_to(self, suffix: str) -> tuple[int, str]:
        hits = [(i, src) for i, src, dst in self.renames if dst.endswith(suffix)]
        assert len(hits) == 1, self.renames
        return hits[0]

    def synced_before(self, line: int) -> set[str]:
        return {p for i, p in self.fsynced if i < line}

    def synced_after(self, line: int) -> set[str]:
        return {p for i, p in self.fsynced if i > line}


def strace(code: str, *args: str, home: Path, out: Path) -> Trace:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    log = out / "strace.txt"
    done = subprocess.run(["strace", "-f", "-qq", "-y", "-o", str(log), "-e",
                           "trace=fsync,fdatasync,rename,renameat,renameat2", sys.executable, "-c", code, *args],
                          capture_output=True, text=True, env={"BENTO_HOME": str(home), "PATH": "/usr/bin:/bin"})
    if done.returncode != 0 and "ptrace" in done.stderr.lower():
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    pending: dict[str, str] = {}
    trace = Trace([], [])
    for i, line in enumerate(log.read_text().splitlines()):
        pid, call = line.split(None, 1)  # strace pads the pid column
        sync = re.match(r"f(?:data)?sync\(\d+<(.*)>(\) = 0| <unfinished \.\.\.>)", call)
        if sync:
            if sync.group(2) == ") = 0":
                trace.fsynced.append((i, sync.group(1)))
            else:
                pending[pid] = sync.group(1)
        elif re.match(r"<\.\.\. f(?:data)?sync resumed>\) = 0", call):
            trace.fsynced.append((i, pending.pop(pid)))
        ren = re.match(r'rename(?:at2?)?\((?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)", (?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)"', call)
        if ren:
            trace.renames.append((i, ren.group(1), ren.group(2)))
    return trace


def test_a_save_fsyncs_files_manifest_and_folders_before_publishing_and_the_parent_after(
        tmp_path: Path, bento_home: Path) -> None:
    trace = strace(SAVE, home=bento_home, out=tmp_path)
    line, staging = trace.rename_to("/models/iris/v1")
    before = trace.synced_before(line)
    for rel in ("w.bin", "sub/cfg.json", "model.yaml", "sub", ""):
        assert str(Path(staging) / rel) in before, (rel, sorted(before))
    assert str(bento_home / "models" / "iris") in trace.synced_after(line)
    latest_line, latest_tmp = trace.rename_to("/models/iris/latest")
    assert latest_tmp in trace.synced_before(latest_line)
    assert {p for i, p in trace.fsynced if i > latest_line} >= {str(bento_home / "models" / "iris")}
    assert open_store(bento_home).models.verify("iris:v1") == []


def test_an_import_fsyncs_every_extracted_file_before_publishing(tmp_path: Path, bento_home: Path) -> None:
    src = open_store(tmp_path / "src")
    with src.models.create("iris", version="v1") as m:
        m.path_of("w.bin").write_bytes(b"w" * 300_000)
        m.path_of("sub/cfg.json").write_bytes(b"{}")
    archive = transfer.export(src, "model", "iris:v1", tmp_path / "iris.bentomodel")
    trace = strace(IMPORT, archive, home=bento_home, out=tmp_path)
    line, staging = trace.rename_to("/models/iris/v1")
    before = trace.synced_before(line)
    for rel in ("w.bin", "sub/cfg.json", "model.yaml", "sub", ""):
        assert str(Path(staging) / rel) in before, (rel, sorted(before))
    assert str(bento_home / "models" / "iris") in trace.synced_after(line)
    assert open_store(bento_home).models.verify("iris:v1") == []
