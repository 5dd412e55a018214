"""``@bento.task``: submit-to-start latency and throughput with 2 workers, against plain API calls.

    .venv/bin/python bench/tasks_bench.py [--tasks 400] [--runs 3] [--write-readme]

``tasks_service.py`` serves the same 20 ms call as a task (``/queued/submit``) and as a plain API
(``/direct``), 2 workers with 4 threads each, one ``bento serve`` for both, the queue in a fresh SQLite
file. Latency: one client submits one task at a time and waits for it; submit-to-start is the task's own
start timestamp minus the moment the submit request was sent (median). Throughput: ``--tasks`` tasks
submitted by 8 concurrent clients, timed until the last one is done, against the same number of plain
calls by 8 concurrent clients (the baseline). Medians of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchlib import free_port, ready, replace_section

HERE = Path(__file__).resolve().parent
SECTION = "## Tasks"


def start(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "BENTO_TASK_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "bento", "serve", "tasks_service.py:Work", "--port", str(port)],
                            cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while not ready(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the service did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


async def latency(url: str, n: int = 50) -> float:
    gaps = []
    async with httpx.AsyncClient(base_url=url) as client:
        for x in range(n):
            sent = time.time()
            task_id = (await client.post("/queued/submit", json={"x": x})).json()["task_id"]
            while (await client.get("/queued/status", params={"task_id": task_id})).json()["status"] != "success":
                await asyncio.sleep(0.002)
            started = (await client.get("/queued/get", params={"task_id": task_id})).json()["started"]
            gaps.append(started - sent)
    return statistics.median(gaps) * 1000


async def throughput(url: str, n: int, queued: bool, clients: int = 8) -> float:
    todo = list(range(n))
    ids: list[str] = []

    async def client_loop(client: httpx.AsyncClient) -> None:
        while todo:
            x = todo.pop()
            if queued:
                response = await client.post("/queued/submit", json={"x": x})
                assert response.status_code == 200, response.text
                ids.append(response.json()["task_id"])
            else:
                assert (await client.post("/direct", json={"x": x})).status_code == 200

    async with httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=clients)) as client:
        began = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        for task_id in ids:  # wait for the last queued one
            while True:
                status = (await client.get("/queued/status", params={"task_id": task_id})).json()["status"]
                if status == "success":
                    break
                assert status == "in_progress", status
                await asyncio.sleep(0.005)
        return n / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    lat, tasks, direct = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            proc, url = start(Path(tmp) / "tasks.sqlite3")
            try:
                lat.append(asyncio.run(latency(url)))
                direct.append(asyncio.run(throughput(url, args.tasks, queued=False)))
                tasks.append(asyncio.run(throughput(url, args.tasks, queued=True)))
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
    load = os.getloadavg()[0]
    rows = [
        f"| submit-to-start latency (median of 50, one client) | {statistics.median(lat):.1f} ms | "
        f"{', '.join(f'{v:.1f}' for v in lat)} |",
        f"| tasks/s, {args.tasks} tasks by 8 clients, until the last is done | {statistics.median(tasks):.0f} | "
        f"{', '.join(f'{v:.0f}' for v in tasks)} |",
        f"| baseline: plain calls/s of the same work, 8 clients | {statistics.median(direct):.0f} | "
        f"{', '.join(f'{v:.0f}' for v in direct)} |",
    ]
    ratio = statistics.median(tasks) / statistics.median(direct)
    section = f"""{SECTION}

`bench/tasks_bench.py` (re-run it to refresh this section). `bench/tasks_service.py` serves the same 20 ms
call (a sleep) as a `@bento.task` and as a plain `@bento.api`: 2 workers x 4 threads, the queue in a fresh
SQLite file (WAL, `synchronous=FULL`). Medians of {args.runs} runs; load average {load:.1f} at the end.

| | median | runs |
|---|---|---|
{chr(10).join(rows)}

Queued throughput is {ratio:.2f}x the plain calls' (the ceiling is 2 workers x 4 threads / 20 ms = 400/s;
a task pays a durable insert, a claim and a result write on top of the call).
"""
    print(section)
    if args.write_readme:
        replace_section(SECTION, section)


if __name__ == "__main__":
    main()
