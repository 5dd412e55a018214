"""Which GPUs this machine has, and which of them each worker of a service graph gets.

Detection, first match wins:

1. ``BENTO_VISIBLE_GPUS`` (``"0,1,3"``) or ``BENTO_GPU_COUNT`` (``"4"``): an explicit override, for tests and
   for machines whose driver the process cannot query;
2. ``CUDA_VISIBLE_DEVICES`` already set for ``bento serve``: exactly those devices (an empty value hides
   them all);
3. NVML (``libnvidia-ml.so.1``, shipped with the driver), then ``nvidia-smi -L``;
4. none.

Assignment (:func:`assign`): ``resources={"gpu": N}`` gives worker *i* of a service the next N devices
(worker 0 the first N, worker 1 the next N, ...), so every worker sees its own ``CUDA_VISIBLE_DEVICES``;
a fraction (``0.5``, ``0.25``) packs ``1 / fraction`` workers onto one device. Services are served in
graph order (the entry service first) from one pool, so a dependency never shares the entry's devices.
Asking for more devices than there are is an :class:`InvalidConfig` at start-up.
"""

from __future__ import annotations

import ctypes
import math
import os
import shutil
import subprocess
from typing import Iterable

from bento.core.errors import InvalidConfig

VISIBLE_ENV = "BENTO_VISIBLE_GPUS"
COUNT_ENV = "BENTO_GPU_COUNT"


def visible_gpus(environ: dict[str, str] | None = None) -> tuple[list[str], str]:
    """The device ids workers may be given, and where that list came from (for error messages)."""
    env = os.environ if environ is None else environ
    if env.get(VISIBLE_ENV) is not None:
        return _split(env[VISIBLE_ENV]), VISIBLE_ENV
    count = env.get(COUNT_ENV)
    if count is not None:
        if not count.strip().isdigit():
            raise InvalidConfig(f"{COUNT_ENV}={count!r} is not a whole number of GPUs")
        return [str(i) for i in range(int(count))], COUNT_ENV
    if env.get("CUDA_VISIBLE_DEVICES") is not None:
        return _split(env["CUDA_VISIBLE_DEVICES"]), "CUDA_VISIBLE_DEVICES"
    found = _nvml_count()
    if found is None:
        found = _nvidia_smi_count()
    if found is None:
        return [], "no NVIDIA driver found"
    return [str(i) for i in range(found)], "the NVIDIA driver"


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip() and part.strip() != "-1"]


def _nvml_count() -> int | None:
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return None
    try:
        if nvml.nvmlInit_v2() != 0:
            return None
        count = ctypes.c_uint(0)
        ok = nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0
        nvml.nvmlShutdown()
        return int(count.value) if ok else None
    except AttributeError:
        return None


def _nvidia_smi_count() -> int | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def per_worker_check(gpu: float, service: str) -> None:
    """A share of one device (``0 < gpu < 1``) or whole devices; ``1.5`` has no meaning."""
    if gpu > 1 and gpu != int(gpu):
        raise InvalidConfig(f"resources.gpu of {service} is {gpu:g}: use whole GPUs per worker above 1, "
                            "or a fraction below 1 (0.5 puts two workers on one GPU)")


def workers_for_gpus(gpu: float, available: int, service: str) -> int:
    """``workers="gpu_count"``: as many workers as the devices hold (one per GPU unless ``resources.gpu``
    says otherwise)."""
    per_worker = gpu or 1.0
    if available == 0:
        raise InvalidConfig(f"{service} asks for workers=\"gpu_count\" but no GPU is visible; set workers to a "
                            f"number, or {VISIBLE_ENV} / CUDA_VISIBLE_DEVICES")
    count = int(available / per_worker + 1e-9)
    if count < 1:
        raise InvalidConfig(f"{service} needs {per_worker:g} GPUs per worker but only {available} are visible")
    return count


def devices_needed(gpu: float, workers: int) -> int:
    if gpu <= 0:
        return 0
    if gpu < 1:
        return math.ceil(workers / int(1 / gpu + 1e-9))
    return int(gpu) * workers


def assign(services: Iterable[tuple[str, float, int]], environ: dict[str, str] | None = None
           ) -> dict[tuple[str, int], str]:
    """``CUDA_VISIBLE_DEVICES`` per (service, worker id) for every service that asks for GPUs; ``services``
    is (name, resources.gpu, workers) in graph order. Services without GPUs are not in the result."""
    wanted = [(name, float(gpu), workers) for name, gpu, workers in services if gpu and gpu > 0]
    if not wanted:
        return {}
    devices, source = visible_gpus(environ)
    total = sum(devices_needed(gpu, workers) for _, gpu, workers in wanted)
    if total > len(devices):
        asks = ", ".join(f"{name}: {workers} worker{'s' if workers > 1 else ''} × {gpu:g} GPU"
                         for name, gpu, workers in wanted)
        raise InvalidConfig(f"the services need {total} GPU{'s' if total != 1 else ''} ({asks}) but "
                            f"{len(devices)} {'is' if len(devices) == 1 else 'are'} available ({source}); "
                            "lower resources.gpu or workers")
    result: dict[tuple[str, int], str] = {}
    cursor = 0
    for name, gpu, workers in wanted:
        per_worker_check(gpu, name)
        if gpu < 1:
            share = int(1 / gpu + 1e-9)  # workers per device
            for worker in range(workers):
                result[(name, worker)] = devices[cursor + worker // share]
        else:
            size = int(gpu)
            for worker in range(workers):
                start = cursor + worker * size
                result[(name, worker)] = ",".join(devices[start:start + size])
        cursor += devices_needed(gpu, workers)
    return result
