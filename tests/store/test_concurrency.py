"""Real concurrent processes saving and reading the same model name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bento.store import open_store

WRITER = r"""
import os, sys
from bento.store import open_store
store = open_store()
for i in range(int(sys.argv[1])):
    with store.models.create("shared", labels={"writer": sys.argv[2]}) as m:
        for j in range(3):
            with open(m.path_of(f"part{j}.bin"), "wb") as f:
                for _ in range(8):
                    f.write(os.urandom(64 * 1024))
"""

READER = r"""
import os, time
from bento.store import open_store
from bento.core.errors import NotFound
store = open_store()
seen, bad = set(), []
deadline = time.monotonic() + 100
while time.monotonic() < deadline:
    stop = os.path.exists("STOP")  # one more read after the writers finished
    try:
        item = store.models.get("shared:latest")
        problems = item.problems(deep=True)
        if problems:
            bad.append((item.tag, problems))
        seen.add(item.version)
    except NotFound:
        pass
    if stop:
        break
print("SEEN", len(seen))
print("BAD", bad)
"""


def test_parallel_saves_give_complete_versions_and_readers_never_see_partial(tmp_path: Path, bento_home: Path) -> None:
    writers, per_writer = 3, 4
    reader = subprocess.Popen([sys.executable, "-c", READER], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(per_writer), str(w)], cwd=tmp_path)
             for w in range(writers)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    (tmp_path / "STOP").write_text("stop")
    out, _ = reader.communicate(timeout=120)
    assert reader.returncode == 0
    assert "BAD []" in out
    assert int(out.split("SEEN ")[1].split()[0]) >= 1

    store = open_store()
    items = store.models.list("shared")
    assert len(items) == writers * per_writer
    assert len({i.version for i in items}) == writers * per_writer
    for item in items:
        assert store.models.verify(item.tag) == []
        assert item.size == 3 * 8 * 64 * 1024
    assert store.models.get("shared:latest").version == items[0].version
    assert list((bento_home / ".tmp").iterdir()) == []


KILLED = r"""
import os, sys, time
from bento.store import open_store
with open_store().models.create("victim") as m:
    m.path_of("half.bin").write_bytes(b"x" * 1000)
    print("WRITING", flush=True)
    time.sleep(60)
"""


def test_a_killed_writer_leaves_no_item_and_its_scratch_is_swept(tmp_path: Path, bento_home: Path) -> None:
    import os
    import signal

    proc = subprocess.Popen([sys.executable, "-c", KILLED], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "WRITING"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    store = open_store()
    assert not store.models.exists("victim")
    leftovers = list((bento_home / ".tmp").iterdir())
    assert any(p.name.endswith(".lock") for p in leftovers)  # the dead process's scratch
    for p in leftovers:  # age it past the grace period a live process gets between mkdtemp and flock
        os.utime(p, (1, 1))
    with store.models.create("next") as m:
        m.path_of("f").write_bytes(b"1")
    assert list((bento_home / ".tmp").iterdir()) == []
    assert [i.name for i in store.models.list()] == ["next"]


def test_a_killed_writers_scratch_is_removed_by_the_next_save_at_once(tmp_path: Path, bento_home: Path) -> None:
    # Locks are taken before their directory exists, so no grace period is needed: gigabytes of a crashed
    # save are reclaimed by the very next store operation, not a minute later.
    import signal

    proc = subprocess.Popen([sys.executable, "-c", KILLED], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "WRITING"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert len(list((bento_home / ".tmp").iterdir())) == 2  # its directory and its lock
    with open_store().models.create("next") as m:
        m.path_of("f").write_bytes(b"1")
    assert list((bento_home / ".tmp").iterdir()) == []
