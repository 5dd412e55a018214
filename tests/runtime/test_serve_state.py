"""The shared serving state the supervisor gives its workers (one process standing in for several)."""

from __future__ import annotations

import os
from pathlib import Path

from bento.runtime.state import SharedRegion


def test_concurrency_limit_is_shared_and_a_dead_workers_slots_come_back(tmp_path: Path) -> None:
    region = SharedRegion({"Api": 2}, str(tmp_path))
    first, second = region.state("Api", 0, 2, []), region.state("Api", 1, 2, [])
    try:
        assert first.try_acquire() and second.try_acquire()
        assert not first.try_acquire() and not second.try_acquire()  # 2 in flight across both workers
        assert region.in_flight("Api") == 2
        first.release()
        assert second.try_acquire()
        region.reset("Api", 1)  # worker 1 died holding two slots; the supervisor clears them
        assert region.in_flight("Api") == 0
        assert first.try_acquire() and first.try_acquire() and not first.try_acquire()
    finally:
        first.close()
        second.close()


def test_ready_needs_every_worker_and_every_dependency(tmp_path: Path) -> None:
    region = SharedRegion({"Api": 2, "Model": 1}, str(tmp_path))
    api0, api1 = region.state("Api", 0, None, ["Model"]), region.state("Api", 1, None, ["Model"])
    model = region.state("Model", 0, None, [])
    api0.mark_ready()
    assert not api0.is_ready()
    api1.mark_ready()
    assert not api1.is_ready()  # the dependency is still loading
    model.mark_ready()
    assert api0.is_ready() and api1.is_ready() and model.is_ready()
    region.reset("Model", 0)  # the dependency's worker died: the entry is no longer ready
    assert not api0.is_ready()


def test_no_limit_never_refuses(tmp_path: Path) -> None:
    region = SharedRegion({"Api": 1}, str(tmp_path))
    state = region.state("Api", 0, None, [])
    assert all(state.try_acquire() for _ in range(1000))
    assert os.path.exists(region.lock_path("Api"))
