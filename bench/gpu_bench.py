"""The GPU serving benchmark of issue 15: a batchable 24-layer 8192-wide fp16 MLP (`gpu_service.py`),
served by Bento and by BentoML 1.4 from the same file, in the same run.

    python bench/gpu_bench.py [--small] [--workers 1,4] [--connections 64,256] [--duration 10]
                              [--bento-path DIR] [--bentoml-path DIR] [--out results.json] [--write-readme]

For each worker count, each server is started (`bento serve gpu_service.py:MLP`, `bentoml serve
gpu_service:MLP`), and `loadgen.py` (closed loop, keep-alive, one 1024-float row per request) drives it at
each connection count with:

* `json`: `{"x": [[...1024 floats...]]}` (both servers);
* `npy`: the same row as an `application/x-npy` body, the answer as `.npy` too (Bento);
* `oip`: the KServe/Triton v2 protocol, binary tensors in and out (Bento).

`--bento-path` / `--bentoml-path` are prepended to PYTHONPATH for that server only (on the GPU box each
has its own folder of wheels: BentoML installed next to Bento would shadow Bento's `import bentoml`
alias). Without `--bentoml-path` the BentoML rows are skipped unless `bentoml` is importable as is.
`--small` (4 layers, 256 wide, CPU, numpy when torch is missing) exercises everything on any machine.
GPU utilisation is sampled with `nvidia-smi` when present.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

import loadgen
from benchlib import free_port, ready, replace_section

HERE = Path(__file__).resolve().parent
SECTION = "## GPU serving"


def requests_for(row: np.ndarray) -> dict[str, bytes]:
    buffer = io.BytesIO()
    np.save(buffer, row.reshape(1, -1))
    head = json.dumps({"inputs": [{"name": "x", "shape": [1, row.size], "datatype": "FP32",
                                   "parameters": {"binary_data_size": row.nbytes}}],
                       "parameters": {"binary_data_output": True}}).encode()
    return {
        "json": loadgen.http_request("/predict", json.dumps({"x": [row.tolist()]}).encode(),
                                     {"Content-Type": "application/json"}),
        "npy": loadgen.http_request("/predict", buffer.getvalue(),
                                    {"Content-Type": "application/x-npy", "Accept": "application/x-npy"}),
        "oip": loadgen.http_request("/v2/models/predict/infer", head + row.astype("<f4").tobytes(),
                                    {"Inference-Header-Content-Length": str(len(head))}),
    }


class Server:
    def __init__(self, kind: str, workers: int, small: bool, path: str | None, log_dir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        env = {**os.environ, "GPU_BENCH_WORKERS": str(workers), "GPU_BENCH_SMALL": "1" if small else "0",
               "PYTHONUNBUFFERED": "1"}
        if path:
            env["PYTHONPATH"] = os.pathsep.join([path, *filter(None, [os.environ.get("PYTHONPATH")])])
        if kind == "bento":
            cmd = [sys.executable, "-m", "bento", "serve", "gpu_service.py:MLP", "--port", str(self.port)]
        else:
            cmd = [sys.executable, "-m", "bentoml", "serve", "gpu_service:MLP", "--port", str(self.port)]
        self.log_path = log_dir / f"{kind}-{workers}w.log"
        self.log = open(self.log_path, "wb")
        self.began = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=HERE, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        while not ready(self.port):
            if self.proc.poll() is not None or time.perf_counter() - self.began > 300:
                self.stop()
                raise RuntimeError(f"{' '.join(cmd)} did not become ready; see {self.log_path}:\n"
                                   + self.log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.05)
        self.ready_s = time.perf_counter() - self.began

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class GpuSampler:
    """Mean GPU utilisation (%) over a run, from `nvidia-smi` every 200 ms; None without one."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GpuSampler:
        if subprocess.run(["which", "nvidia-smi"], capture_output=True).returncode == 0:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True).stdout.split()
            if out:
                self.values.append(sum(float(v) for v in out) / len(out))

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None


def measure(server: Server, modes: list[str], requests: dict[str, bytes], connections: list[int],
            duration: float, processes: int) -> list[dict[str, Any]]:
    rows = []
    for mode in modes:
        loadgen.run("127.0.0.1", server.port, requests[mode], 8, min(2.0, duration), processes)  # warm up
        for conns in connections:
            with GpuSampler() as gpu:
                result = loadgen.run("127.0.0.1", server.port, requests[mode], conns, duration, processes)
            row = {"server": server.kind, "mode": mode, "connections": conns, **result, "gpu_util": gpu.mean}
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def bentoml_available(path: str | None) -> bool:
    env = {**os.environ, **({"PYTHONPATH": path} if path else {})}
    probe = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('bentoml') and " \
            "u.find_spec('bentoml._internal') else 1)"
    return subprocess.run([sys.executable, "-c", probe], env=env, cwd="/").returncode == 0


def render(rows: list[dict[str, Any]], starts: dict[str, float], args: argparse.Namespace) -> str:
    lines = [SECTION, "",
             f"`bench/gpu_bench.py {' '.join(sys.argv[1:])}` ({'small CPU model' if args.small else 'GPU model'}; "
             f"{args.duration:g} s per run, load from `bench/loadgen.py` on the same machine). Same file, same "
             "run: Bento serves JSON, `.npy` and v2-protocol binary bodies; BentoML 1.4 JSON (it has no binary "
             "ndarray body).", "",
             "| workers | conns | server | body | req/s | p50 ms | p99 ms | non-2xx | GPU busy | vs BentoML JSON |",
             "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    base = {(r["workers"], r["connections"]): r["rps"] for r in rows if r["server"] == "bentoml"}
    for r in rows:
        ref = base.get((r["workers"], r["connections"]))
        gpu = f"{r['gpu_util']:.0f} %" if r.get("gpu_util") is not None else "—"
        lines.append(f"| {r['workers']} | {r['connections']} | {r['server']} | {r['mode']} | {r['rps']:,.0f} "
                     f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | {gpu} "
                     f"| {r['rps'] / ref:.1f}× |" if ref else f"| {r['workers']} | {r['connections']} "
                     f"| {r['server']} | {r['mode']} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
                     f"| {r['errors']} | {gpu} | — |")
    lines += ["", "Start to first `/readyz` 200: " + ", ".join(f"{k} {v:.1f} s" for k, v in starts.items()), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="4 layers 256 wide on the CPU (any machine)")
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--connections", default="64,256")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--processes", type=int, default=0, help="load generator processes (default: cores/2)")
    parser.add_argument("--modes", default="json,npy,oip", help="Bento body kinds to measure")
    parser.add_argument("--bento-path", help="prepended to PYTHONPATH for the Bento server")
    parser.add_argument("--bentoml-path", help="prepended to PYTHONPATH for the BentoML server")
    parser.add_argument("--no-bentoml", action="store_true")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    parser.add_argument("--write-readme", action="store_true", help="replace the `## GPU serving` section")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    connections = [int(c) for c in args.connections.split(",")]
    modes = args.modes.split(",")
    requests = requests_for(np.array([random.Random(0).uniform(-1, 1) for _ in range(1024)], dtype=np.float32))
    with_bentoml = not args.no_bentoml and bentoml_available(args.bentoml_path)
    if not with_bentoml:
        print("BentoML 1.4 is not importable: its rows are skipped", file=sys.stderr)
    log_dir = Path(os.environ.get("OUT") or HERE / ".gpu-bench-logs")
    log_dir.mkdir(exist_ok=True)
    rows: list[dict[str, Any]] = []
    starts: dict[str, float] = {}
    for count in workers:
        plan = [("bento", args.bento_path, modes)] + ([("bentoml", args.bentoml_path, ["json"])] if with_bentoml else [])
        for kind, path, kind_modes in plan:
            server = Server(kind, count, args.small, path, log_dir)
            starts[f"{kind} {count}w"] = server.ready_s
            try:
                for row in measure(server, kind_modes, requests, connections, args.duration, args.processes):
                    rows.append({"workers": count, **row})
            finally:
                server.stop()
    section = render(rows, starts, args)
    print(section)
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "starts": starts}, indent=1))
    if args.write_readme:
        replace_section(SECTION, section)


if __name__ == "__main__":
    main()
