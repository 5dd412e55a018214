"""Build-time benchmark: `bento build` against `bentoml build` (BentoML 1.4) on the same project, same run.

    .venv/bin/python bench/build_bench.py [--runs 5] [--bentoml /tmp/bentoml14-venv/bin/bentoml]

The project is one service file and two requirements (numpy, pyyaml). Each timed build follows a one-line
source change, so every run builds a new version (an unchanged project is a no-op "exists" for bento).
Caches are warm for bento (locks keyed by the requirements, the wheel of our own package keyed by its
source); BentoML has no lock cache.
Then the same project with a 20,000-file `.venv` added, to show that excluded directories are not walked.

BentoML is installed on demand into a throwaway virtualenv under /tmp (`uv venv` + `uv pip install
'bentoml>=1.4,<1.5'`). Prints a Markdown table with medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVICE = '''
import bentoml
import numpy as np


@bentoml.service
class Scaler:
    @bentoml.api
    def scale(self, values: list[float], factor: float = 2.0) -> list[float]:
        return (np.asarray(values) * factor).tolist()
'''

BENTOFILE = '''service: "service:Scaler"
include:
  - "*.py"
python:
  packages:
    - numpy
    - pyyaml
  lock_packages: {lock}
'''


def make_project(root: Path, lock: bool, venv_files: int = 0) -> Path:
    root.mkdir(parents=True)
    (root / "service.py").write_text(SERVICE)
    (root / "bentofile.yaml").write_text(BENTOFILE.format(lock="true" if lock else "false"))
    if venv_files:
        venv = root / ".venv"
        (venv / "lib").mkdir(parents=True)
        (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
        for i in range(venv_files):
            d = venv / "lib" / f"pkg{i // 100}"
            d.mkdir(exist_ok=True)
            (d / f"m{i}.py").write_text("x = 1\n")
    return root


def ensure_bentoml(path: str | None) -> Path | None:
    if path:
        return Path(path)
    venv = Path("/tmp/bentoml14-venv")
    exe = venv / "bin" / "bentoml"
    if exe.exists():
        return exe
    uv = [sys.executable, "-m", "uv"]
    try:
        subprocess.run([*uv, "venv", "-q", str(venv), "--python", "3.11"], check=True)
        subprocess.run([*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                        "bentoml>=1.4,<1.5", "uv", "pip"], check=True)  # bentoml locks with uv
    except subprocess.CalledProcessError as exc:
        print(f"could not install BentoML 1.4: {exc}", file=sys.stderr)
        return None
    return exe


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def walk_time(project: Path) -> float:
    from bento.builder.files import select_files

    times = []
    for _ in range(5):  # warm-up: pattern compilation, directory entries in the page cache
        select_files(project, ["*.py"], [])
    for _ in range(50):
        start = time.perf_counter()
        select_files(project, ["*.py"], [])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def touch_source(project: Path, n: int) -> None:
    with open(project / "service.py", "a") as fh:
        fh.write(f"# change {n}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--bentoml", default=None, help="path to a BentoML 1.4 `bentoml` executable")
    args = parser.parse_args()
    bentoml = ensure_bentoml(args.bentoml)
    bento = [sys.executable, "-m", "bento", "build", "."]

    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bento-build-bench-") as tmp:
        base = Path(tmp)
        env = {**os.environ, "BENTO_HOME": str(base / "bento-home"), "BENTO_CACHE_DIR": str(base / "cache"),
               "BENTOML_HOME": str(base / "bentoml-home"), "BENTOML_DO_NOT_TRACK": "true"}
        cases: list[tuple[str, list[str], Path]] = [
            ("bento, locked, + 20,000-file .venv", bento, make_project(base / "bento-venv", True, venv_files=20_000)),
        ]
        for lock in (True, False):
            suffix = "locked" if lock else "unlocked"
            cases.append((f"bento, {suffix}", bento, make_project(base / f"bento-{suffix}", lock)))
            if bentoml is not None:
                cases.append((f"bentoml 1.4, {suffix}", [str(bentoml), "build", "."],
                              make_project(base / f"bentoml-{suffix}", lock)))
        for _, cmd, project in cases:  # warm-up: lock cache, own wheel, imports in the page cache
            timed(cmd, project, env)
        refresh = make_project(base / "refresh", True)
        for run in range(args.runs):  # interleaved, so background load hits every case alike
            # Untimed: re-warms the cached wheel of our own package if the checkout changed meanwhile
            # (other people edit this checkout while the benchmark runs; users' checkouts rarely change).
            touch_source(refresh, run)
            timed(bento, refresh, env)
            for label, cmd, project in cases:
                touch_source(project, run)
                results.setdefault(label, []).append(timed(cmd, project, env))
        walk = {label: walk_time(project) for label, _, project in cases if label.startswith("bento, locked")}
        shutil.rmtree(base, ignore_errors=True)

    med = {label: statistics.median(times) for label, times in results.items()}
    print(f"| case | median of {args.runs} (s) | runs (s) |")
    print("|---|---|---|")
    for label, times in results.items():
        print(f"| {label} | {med[label]:.2f} | {', '.join(f'{t:.2f}' for t in times)} |")
    print()
    for suffix in ("locked", "unlocked"):
        other = med.get(f"bentoml 1.4, {suffix}")
        if other:
            print(f"- {suffix}: bento / bentoml = {med[f'bento, {suffix}'] / other:.2f}")
    # Runs of the two cases are back to back, so the median of per-run ratios cancels most background load.
    pairs = zip(results["bento, locked, + 20,000-file .venv"], results["bento, locked"])
    paired = statistics.median(v / p for v, p in pairs)
    print(f"- 20,000-file .venv: {100 * (med['bento, locked, + 20,000-file .venv'] / med['bento, locked'] - 1):+.1f} %"
          f" (ratio of medians), {100 * (paired - 1):+.1f} % (median of paired runs), whole CLI build")
    plain, venv = walk["bento, locked"], walk["bento, locked, + 20,000-file .venv"]
    print(f"- file selection alone (median of 50, in-process): {plain * 1e3:.2f} ms without, {venv * 1e3:.2f} ms "
          "with the .venv")


if __name__ == "__main__":
    main()
