"""GPUs per worker: detection overrides, the assignment rules, and a real `bento serve` whose workers
report the CUDA_VISIBLE_DEVICES they were given (the machine's GPUs are simulated with BENTO_GPU_COUNT)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from bento.core.errors import InvalidConfig
from bento.core.gpus import assign, visible_gpus
from utils import free_port, serve


def test_detection_prefers_the_overrides_then_cuda_visible_devices() -> None:
    assert visible_gpus({"BENTO_VISIBLE_GPUS": "1,3", "BENTO_GPU_COUNT": "8"})[0] == ["1", "3"]
    assert visible_gpus({"BENTO_GPU_COUNT": "3", "CUDA_VISIBLE_DEVICES": "5"})[0] == ["0", "1", "2"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "4,5"}) == (["4", "5"], "CUDA_VISIBLE_DEVICES")
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""})[0] == []
    with pytest.raises(InvalidConfig, match="BENTO_GPU_COUNT='two' is not a whole number"):
        visible_gpus({"BENTO_GPU_COUNT": "two"})


def test_whole_gpus_fractions_and_dependencies_get_their_own() -> None:
    env = {"BENTO_GPU_COUNT": "8"}
    got = assign([("Entry", 2, 2), ("Cpu", 0, 3), ("Dep", 1, 1), ("Shared", 0.5, 3)], env)
    assert got == {("Entry", 0): "0,1", ("Entry", 1): "2,3", ("Dep", 0): "4",
                   ("Shared", 0): "5", ("Shared", 1): "5", ("Shared", 2): "6"}
    assert assign([("A", 0.25, 5)], {"BENTO_VISIBLE_GPUS": "7,9"}) == {
        ("A", 0): "7", ("A", 1): "7", ("A", 2): "7", ("A", 3): "7", ("A", 4): "9"}
    assert assign([("Cpu", 0, 4)], {}) == {}


def test_more_gpus_than_the_machine_has_is_a_clear_error() -> None:
    with pytest.raises(InvalidConfig) as caught:
        assign([("Entry", 1, 2), ("Dep", 1, 1)], {"BENTO_GPU_COUNT": "2"})
    assert str(caught.value) == ("the services need 3 GPUs (Entry: 2 workers × 1 GPU, Dep: 1 worker × 1 GPU) "
                                 "but 2 are available (BENTO_GPU_COUNT); lower resources.gpu or workers")


SERVICE = """
    import os
    import bento


    @bento.service(resources={"gpu": HELPER})
    class Helper:
        @bento.api
        def devices(self) -> str:
            return os.environ.get("CUDA_VISIBLE_DEVICES", "unset")


    @bento.service(resources={"gpu": GPU}, workers=WORKERS)
    class Entry:
        helper = bento.depends(Helper)

        @bento.api
        def devices(self) -> dict:
            return {"pid": os.getpid(), "mine": os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
                    "helper": self.helper.devices()}
"""


def _write(directory: Path, gpu: object, workers: object, helper: object = 1) -> None:
    text = textwrap.dedent(SERVICE).replace("HELPER", repr(helper)).replace("GPU", repr(gpu))
    text = text.replace("WORKERS", repr(workers))
    (directory / "service.py").write_text(text)


def _per_worker(url: str, want: int) -> dict[int, dict[str, str]]:
    seen: dict[int, dict[str, str]] = {}
    for _ in range(300):  # a fresh connection per call lets the kernel pick any worker
        answer = httpx.post(url + "/devices", json={}).json()
        seen[answer.pop("pid")] = answer
        if len(seen) >= want:
            break
    return seen


def test_each_worker_sees_its_own_gpus_and_the_dependency_others(tmp_path: Path) -> None:
    _write(tmp_path, 2, 2)
    with serve(["service.py:Entry"], cwd=tmp_path, env={"BENTO_GPU_COUNT": "5"}) as server:
        seen = _per_worker(server.url, 2)
    assert sorted(w["mine"] for w in seen.values()) == ["0,1", "2,3"]
    assert {w["helper"] for w in seen.values()} == {"4"}


def test_half_a_gpu_per_worker_and_gpu_count_workers(tmp_path: Path) -> None:
    _write(tmp_path, 0.5, "gpu_count", helper=0)  # two GPUs, half a GPU per worker: four workers
    with serve(["service.py:Entry"], cwd=tmp_path, env={"BENTO_VISIBLE_GPUS": "2,5"}) as server:
        assert "Entry: 4 workers" in server.output()
        seen = _per_worker(server.url, 4)
    assert sorted(w["mine"] for w in seen.values()) == ["2", "2", "5", "5"]
    assert {w["helper"] for w in seen.values()} == {"unset"}


def test_asking_for_too_many_gpus_fails_at_start_up(tmp_path: Path) -> None:
    _write(tmp_path, 1, 2)
    proc = subprocess.run([sys.executable, "-m", "bento", "serve", "service.py:Entry", "--port", str(free_port())],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "BENTO_GPU_COUNT": "2"})
    assert proc.returncode != 0
    assert "the services need 3 GPUs (Entry: 2 workers × 1 GPU, Helper: 1 worker × 1 GPU) but 2 are available" \
        in proc.stderr
    assert "Traceback" not in proc.stderr
