"""Benchmark `bento deploy --target swarm`: scale-out, the cost of the cross-container hop, and a roll.

    .venv/bin/python bench/deploy_bench.py [--seconds 15] [--clients 8] [--base-image bento-test-base:bookworm]

One two-service bento (entry ``front`` calling a dependency ``model``), one image, one run:

- requests/s through the entry service with the dependency at 1 and at 2 replicas (Swarm, one service per
  container, ``--publish-mode host``). The dependency stands for a model: each call holds its only API
  thread for 20 ms (``time.sleep``), so one replica serves at most ~50 calls/s whatever the CPU; the
  ratio shows whether calls really spread over both replicas;
- the hop itself: the entry service times 300 sequential calls to a trivial dependency API and reports
  the median. Baseline in the same run: the same image with ``docker run`` serving the whole graph in one
  container, where the dependency sits behind a Unix socket (pickle) instead of the overlay network
  (HTTP/JSON, DNS round-robin);
- failed requests while the stack rolls over to a new image (every service, start-first), under load.

Prints a Markdown section and writes it to bench/README.md (``## Deploy``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import free_port, ready, replace_section  # noqa: E402

SERVICE = '''\
import statistics
import time

import bento


@bento.service(name="model", threads=1)
class Model:
    @bento.api
    def infer(self, x: int) -> int:
        time.sleep(0.02)  # a 20 ms model: one call at a time per replica
        return 2 * x

    @bento.api
    def ping(self, x: int) -> int:
        return x


@bento.service(name="front", threads=32)
class Front:
    model = bento.depends(Model)

    @bento.api
    def ask(self, x: int) -> int:
        return self.model.infer(x)

    @bento.api
    def hop(self, n: int) -> float:
        """Median seconds of ``n`` sequential calls to the dependency's trivial API."""
        times = []
        for i in range(n):
            began = time.perf_counter()
            self.model.ping(i)
            times.append(time.perf_counter() - began)
        return statistics.median(times)
'''


def bento(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 900) -> str:
    result = subprocess.run([sys.executable, "-m", "bento", *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"bento {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def wait_ready(port: int, timeout: float = 180) -> None:
    until = time.monotonic() + timeout
    while not ready(port):
        if time.monotonic() > until:
            raise SystemExit(f"nothing ready on port {port} after {timeout}s")
        time.sleep(0.2)


class Load:
    def __init__(self, url: str, clients: int) -> None:
        self.url = url
        self.ok = 0
        self.failed: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                try:
                    answer = client.post(f"{self.url}/ask", json={"x": 3})
                    good = answer.status_code == 200 and answer.json() == 6
                    reason = f"{answer.status_code} {answer.text[:120]}"
                except (httpx.HTTPError, ValueError) as exc:
                    good, reason = False, repr(exc)
                with self.lock:
                    if good:
                        self.ok += 1
                    else:
                        self.failed.append(reason)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def throughput(url: str, clients: int, seconds: float) -> float:
    with Load(url, clients) as load:
        time.sleep(2)  # warm up: connections, DNS
        start_ok, began = load.ok, time.monotonic()
        time.sleep(seconds)
        done, took = load.ok - start_ok, time.monotonic() - began
    if load.failed:
        raise SystemExit(f"{len(load.failed)} failed requests while measuring: {load.failed[:3]}")
    return done / took


def hop(url: str) -> float:
    httpx.post(f"{url}/hop", json={"n": 20}, timeout=120)  # warm the connections
    return statistics.median(float(httpx.post(f"{url}/hop", json={"n": 300}, timeout=120).json())
                             for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--base-image", default=os.environ.get("BENTO_TEST_BASE_IMAGE", "bento-test-base:bookworm"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bento-deploy-bench-"))
    env = {**os.environ, "BENTO_HOME": str(work / "home")}
    project = work / "shop"
    project.mkdir()
    (project / "service.py").write_text(SERVICE)
    (project / "bentofile.yaml").write_text(f'service: "service:Front"\ninclude: ["*.py"]\n'
                                            f'docker:\n  base_image: {args.base_image}\n')
    tag = bento("build", "-o", "tag", env=env, cwd=project)
    image = f"bench-{tag}"
    bento("containerize", tag, "-t", image, "--progress", "quiet", env=env)
    stack = f"bench{os.getpid()}"
    container = ""
    results: dict[str, float] = {}
    failures: list[str] = []
    try:
        # baseline: one container, the dependency behind a Unix socket
        port = free_port()
        container = subprocess.run(["docker", "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:3000", image],
                                   capture_output=True, text=True, check=True).stdout.strip()
        wait_ready(port)
        results["hop_uds"] = hop(f"http://127.0.0.1:{port}")
        results["rps_uds"] = throughput(f"http://127.0.0.1:{port}", args.clients, args.seconds)
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        container = ""

        port = free_port()

        def deploy(img: str, replicas: int) -> str:
            return bento("deploy", tag, "--name", stack, "--image", img, "--publish", str(port), "--publish-mode",
                         "host", "--replicas", f"model={replicas}", env=env)

        url = deploy(image, 1)
        results["hop_http"] = hop(url)
        results["rps_1"] = throughput(url, args.clients, args.seconds)
        deploy(image, 2)
        results["rps_2"] = throughput(url, args.clients, args.seconds)

        subprocess.run(["docker", "tag", image, f"{image}-roll"], check=True)
        with Load(url, args.clients) as load:
            time.sleep(2)
            began = time.monotonic()
            deploy(f"{image}-roll", 2)
            results["roll_seconds"] = time.monotonic() - began
            time.sleep(2)
        results["roll_ok"] = load.ok
        results["roll_failed"] = len(load.failed)
        failures = load.failed[:3]
    finally:
        if container:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        subprocess.run([sys.executable, "-c", f"from bento.deploy.run import remove_swarm; remove_swarm({stack!r})"],
                       capture_output=True, env=env)
        subprocess.run(["docker", "rmi", f"{image}-roll", image], capture_output=True)
    section = render(results, args, failures)
    print(section)
    replace_section("## Deploy", section)


def render(r: dict[str, float], args: argparse.Namespace, failures: list[str]) -> str:
    ratio = r["rps_2"] / r["rps_1"]
    extra_ms = (r["hop_http"] - r["hop_uds"]) * 1000
    return f"""## Deploy

`bench/deploy_bench.py --seconds {args.seconds:g} --clients {args.clients}` (Docker 20.10 swarm, one node,
`--publish-mode host`, base `{args.base_image}`; 2-core machine shared with other helpers' runs, so
absolute numbers are noisy: compare within the run). Entry service `front` calls dependency `model`,
whose API holds its only thread for 20 ms (at most ~50 calls/s per replica); {args.clients} clients in a
loop through the gateway.

| measure | value |
|---|---|
| req/s, dependency at 1 replica | {r["rps_1"]:.1f} |
| req/s, dependency at 2 replicas | {r["rps_2"]:.1f} |
| **scale-out ratio (2 / 1)** | **{ratio:.2f}** |
| req/s, same image, one container (`docker run`, Unix-socket hop), baseline | {r["rps_uds"]:.1f} |
| dependency call, median, in-container Unix socket (baseline) | {r["hop_uds"] * 1000:.2f} ms |
| dependency call, median, across containers (overlay network, HTTP/JSON) | {r["hop_http"] * 1000:.2f} ms |
| **extra latency of the cross-container hop** | **{extra_ms:+.2f} ms** ({r["hop_http"] / r["hop_uds"]:.1f}x) |
| rolling update to a new image (every service, start-first), under load | {r["roll_seconds"]:.1f} s |
| requests answered during the roll | {r["roll_ok"]:.0f} |
| **failed requests during the roll (target 0)** | **{r["roll_failed"]:.0f}** |
{"" if not failures else chr(10) + "First failures: " + "; ".join(failures) + chr(10)}
{NOTES}"""


NOTES = """\
The hop figure is measured inside the entry service (300 sequential calls to a trivial dependency API,
median of 3 runs), so neither the client nor the host-mode gateway is in it. Across containers a call is
JSON over a pooled keep-alive HTTP connection through the overlay network, against pickle over a Unix
socket in one container. The one-container baseline serves the whole graph with one dependency worker,
so its req/s is the 1-replica figure without the cross-container hop and the gateway. A ratio above 2
is noise: the 2-core machine is shared, and each phase gets a different share of it. The roll re-tags
the image, so every service (entry and both replicas) is replaced start-first while the clients call.
"""


if __name__ == "__main__":
    main()
