"""Adaptive batching and the cost of a ``depends`` hop.

    .venv/bin/python bench/batching_bench.py [--duration 5] [--runs 3] [--bentoml /tmp/bml14/bin/bentoml]
                                             [--write-readme]

Throughput: ``batching_service.py`` (a numpy API whose call costs 5 ms + 0.05 ms per row on a device that
runs one call at a time) served with one worker, 64 concurrent keep-alive clients (``wrk -t1 -c64``),
one 4-float row per request. Compared in the same run: the same API without batching (``Unbatched``) and,
if ``--bentoml`` points at a BentoML 1.4 CLI (installed in a throwaway virtualenv), BentoML serving the
same file. Latency: one client (``wrk -c1``), median, batched against unbatched. Each figure is the median
of ``--runs`` runs; the servers alternate.

Hop: ``batching_hop_service.py`` times, inside the entry worker, a call to a trivial API through
``bento.depends`` (another process, Unix socket) against the same method called directly (median of 500).

Needs ``wrk`` (``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import free_port, ready, replace_section

HERE = Path(__file__).resolve().parent
SECTION = "## Batching and composition"
BODY = '{"x": [[1.0, 2.0, 3.0, 4.0]]}'
LUA = f"""wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
"""






class Server:
    def __init__(self, cmd: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, cwd=HERE, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env={**os.environ, **(env or {})})
        began = time.monotonic()
        while not ready(port):
            if self.proc.poll() is not None or time.monotonic() - began > 120:
                self.log.seek(0)
                raise RuntimeError(f"{' '.join(cmd)} did not become ready:\n{self.log.read().decode()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def bento(target: str) -> Any:
    port = free_port()
    return Server([sys.executable, "-m", "bento", "serve", f"batching_service.py:{target}", "--port", str(port)],
                  port)


def bentoml(cli: str, target: str) -> Any:
    port = free_port()
    env = {"BENTOML_HOME": tempfile.mkdtemp(prefix="bentoml-home-"), "BENTOML_DO_NOT_TRACK": "True"}
    return Server([cli, "serve", f"batching_service:{target}", "--port", str(port)], port, env)


def wrk(port: int, connections: int, duration: float) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(LUA)
        script.flush()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "-s", script.name,
             f"http://127.0.0.1:{port}/predict"],
            capture_output=True, text=True, check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan"),
            "errors": float(errors.group(1)) if errors else 0.0}


def warm(port: int) -> None:
    wrk(port, 8, 1)


def throughput(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    kinds = ["batched", "unbatched"] + (["bentoml"] if args.bentoml else [])
    results: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    latency: dict[str, list[dict[str, float]]] = {"batched-1": [], "unbatched-1": []}
    for run in range(args.runs):
        for kind in kinds:
            if kind == "bentoml":
                server = bentoml(args.bentoml, "Batched")
            else:
                server = bento("Batched" if kind == "batched" else "Unbatched")
            try:
                warm(server.port)
                results[kind].append(wrk(server.port, 64, args.duration))
                if kind != "bentoml":
                    latency[f"{kind}-1"].append(wrk(server.port, 1, args.duration))
            finally:
                server.stop()
            print(f"run {run + 1} {kind}: {results[kind][-1]}", file=sys.stderr)
    return {**results, **latency}


def hop() -> list[dict[str, float]]:
    import httpx

    port = free_port()
    server = Server([sys.executable, "-m", "bento", "serve", "batching_hop_service.py:Entry", "--port", str(port)],
                    port)
    try:
        url = f"http://127.0.0.1:{port}"
        httpx.post(url + "/measure", json={"calls": 200}, timeout=120)  # warm-up
        sync = httpx.post(url + "/measure", json={"calls": 1000}, timeout=120).json()
        asyn = httpx.post(url + "/measure_async", json={"calls": 1000}, timeout=120).json()
    finally:
        server.stop()
    return [sync, asyn]


def median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def report(res: dict[str, list[dict[str, float]]], hops: list[dict[str, float]], args: argparse.Namespace) -> str:
    b, u = median(res["batched"], "rps"), median(res["unbatched"], "rps")
    lines = [
        SECTION,
        "",
        "`bench/batching_bench.py` (re-run it to refresh this section). 2 cores shared by the server, the",
        "load generator and other helpers' test runs, so absolute figures are noisy; compare within a row.",
        f"Medians of {args.runs} runs of {args.duration:g} s; one worker; `wrk -t1`, one 4-float row per request;",
        "the model costs 5 ms + 0.05 ms/row and runs one call at a time (`bench/batching_service.py`).",
        "",
        "| 64 concurrent clients | requests/s | p50 latency | non-2xx | vs unbatched |",
        "|---|---|---|---|---|",
        f"| Bento, batchable | {b:.0f} | {median(res['batched'], 'p50_ms'):.1f} ms | "
        f"{median(res['batched'], 'errors'):.0f} | {b / u:.1f}x |",
        f"| Bento, not batchable | {u:.0f} | {median(res['unbatched'], 'p50_ms'):.1f} ms | "
        f"{median(res['unbatched'], 'errors'):.0f} | 1.0x |",
    ]
    if res.get("bentoml"):
        m = median(res["bentoml"], "rps")
        lines.append(f"| BentoML {args.bentoml_version}, batchable (same file) | {m:.0f} | {median(res['bentoml'], 'p50_ms'):.1f} ms | "
                     f"{median(res['bentoml'], 'errors'):.0f} | {m / u:.1f}x (Bento is {b / m:.2f}x) |")
    else:
        lines.append("| BentoML 1.4 | not measured in this run (pass `--bentoml`) | | | |")
    lb, lu = median(res["batched-1"], "p50_ms"), median(res["unbatched-1"], "p50_ms")
    lines += [
        "",
        f"One client: median latency {lb:.2f} ms batchable vs {lu:.2f} ms not batchable "
        f"({lb - lu:+.2f} ms for batching; an idle server dispatches a lone request at once).",
        "",
        "| one `depends` hop, trivial API (16 float32) | through depends | direct call | overhead |",
        "|---|---|---|---|",
    ]
    for label, h in zip(("sync API, `self.leaf.ping(x)`", "async API, `await self.leaf.to_async.ping(x)`"), hops):
        lines.append(f"| {label} | {h['depends_us']:.0f} µs | {h['direct_us']:.1f} µs | "
                     f"{(h['depends_us'] - h['direct_us']) / 1000:.2f} ms |")
    return "\n".join(lines) + "\n"




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bentoml", help="path to a BentoML 1.4 `bentoml` executable")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    args.bentoml_version = "1.4"
    if args.bentoml:
        version = subprocess.run([args.bentoml, "--version"], capture_output=True, text=True).stdout
        args.bentoml_version = version.split()[-1] if version.strip() else "1.4"
    results = throughput(args)
    hops = hop()
    section = report(results, hops, args)
    print(section)
    if args.write_readme:
        replace_section(SECTION, section)


if __name__ == "__main__":
    main()
