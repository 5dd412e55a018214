"""The service `bench/gpu_bench.py` serves, with Bento and, unchanged, with BentoML 1.4.

A 24-layer, 8192-wide fp16 MLP in torch (1024 floats in, 1024 out; 1024→8192, 22 × 8192→8192, 8192→1024:
about 3 GB of weights), batchable along the first axis. `GPU_BENCH_SMALL=1` makes it 4 layers 256 wide
in float32, on the CPU, and in numpy when torch is not installed, so the benchmark runs on any machine.
`GPU_BENCH_WORKERS` sets the worker count. The weights are random (seeded): the work, not the answer, is
what is measured.
"""

from __future__ import annotations

import os

import numpy as np

import bentoml

SMALL = os.environ.get("GPU_BENCH_SMALL") == "1"
WORKERS = int(os.environ.get("GPU_BENCH_WORKERS", "1"))
IN_OUT = 1024
WIDTH, LAYERS = (256, 4) if SMALL else (8192, 24)


def _sizes() -> list[tuple[int, int]]:
    return [(IN_OUT, WIDTH)] + [(WIDTH, WIDTH)] * (LAYERS - 2) + [(WIDTH, IN_OUT)]


class _NumpyMLP:
    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.weights = [rng.standard_normal(size, dtype=np.float32) / np.sqrt(size[0]) for size in _sizes()]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for index, w in enumerate(self.weights):
            x = x @ w
            if index < len(self.weights) - 1:
                np.maximum(x, 0, out=x)
        return x


class _TorchMLP:
    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() and not SMALL else "cpu"
        self.dtype = torch.float16 if self.device == "cuda" else torch.float32
        torch.manual_seed(0)
        layers: list[torch.nn.Module] = []
        for index, (n_in, n_out) in enumerate(_sizes()):
            layers.append(torch.nn.Linear(n_in, n_out, device=self.device, dtype=self.dtype))
            if index < LAYERS - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers).eval()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device, self.dtype)
            return self.model(batch).float().cpu().numpy()


def _model() -> _NumpyMLP | _TorchMLP:
    try:
        import torch  # noqa: F401
    except ImportError:
        return _NumpyMLP()
    return _TorchMLP()


@bentoml.service(workers=WORKERS, traffic={"timeout": 120}, logging={"access": {"enabled": False}})
class MLP:
    def __init__(self) -> None:
        self.model = _model()
        self.model(np.zeros((1, IN_OUT), dtype=np.float32))  # warm-up: kernels, allocator

    @bentoml.api(batchable=True, batch_dim=0, max_batch_size=256, max_latency_ms=1000)
    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model(x)
