"""Store benchmarks (issue 3), each against its baseline in the same run; medians of --runs runs.

    .venv/bin/python bench/store_bench.py                       # 1 GiB, 3 runs, 1,000 versions
    .venv/bin/python bench/store_bench.py --bentoml /tmp/bentoml14/bin/python --update-readme

1. save: ``bento.models.create`` + ``np.save`` into it (hashing, fsync + publish included) vs the larger of
   the sha256 of the same bytes and ``np.save`` + ``fsync`` of the same array to a plain file in the same
   filesystem (what a durable, verified save cannot beat); plain ``np.save`` (page cache only) for context.
2. get: ``bento.models.get("name:latest").path_of(...)`` with 1,000 versions of that name (after import).
3. export/import of that model: ours (tar + zstd level 3, verified) vs GNU tar with zstd level 3.
4. optional: BentoML 1.4 (its own venv) saving, getting and exporting the same array.

All test data lives in a temporary directory on the store's filesystem and is deleted afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from benchlib import replace_section

HERE = Path(__file__).resolve().parent


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_of(runs: int, fn: Callable[[], object], cleanup: Callable[[], object] = lambda: None) -> float:
    out = []
    for _ in range(runs):
        out.append(timed(fn))
        cleanup()
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--versions", type=int, default=1000)
    ap.add_argument("--bentoml", help="python of a venv with bentoml==1.4.* (e.g. /tmp/bentoml14/bin/python)")
    ap.add_argument("--work", default=str(HERE.parent / ".bench-store"), help="scratch dir (same disk as the store)")
    ap.add_argument("--update-readme", action="store_true", help="rewrite the `## Store` section of bench/README.md")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(dir=Path(args.work).parent, prefix=".bench-store-"))
    os.environ["BENTO_HOME"] = str(work / "home")
    import bento
    from bento.store import open_store, transfer

    size = args.size_mib << 20
    arr = np.random.default_rng(0).standard_normal(size // 4, dtype=np.float32)
    results: dict[str, float | str] = {}
    try:
        # 1. save --------------------------------------------------------------------------------
        plain = work / "plain.npy"
        saved: list[str] = []

        def save_plain() -> None:
            np.save(plain, arr)

        def save_plain_fsync() -> None:
            with open(plain, "wb") as f:
                np.save(f, arr)
                f.flush()
                os.fsync(f.fileno())

        def save_ours() -> None:
            with bento.models.create("bench_model") as m:
                np.save(m.path_of("weights.npy"), arr)
            saved.append(m.tag)

        base, synced, ours = [], [], []
        for run in range(args.runs):  # interleaved so that all see the same machine load
            os.sync()  # no write-back left over from the previous step
            base.append(timed(save_plain))
            plain.unlink()
            os.sync()
            synced.append(timed(save_plain_fsync))
            plain.unlink()
            os.sync()
            ours.append(timed(save_ours))
            if run < args.runs - 1:
                bento.models.delete(saved.pop())
        view = memoryview(arr).cast("B")
        results["sha256_floor_s"] = median_of(args.runs, lambda: hashlib.sha256(view).hexdigest())
        del view
        results["save_plain_s"] = statistics.median(base)
        results["save_plain_fsync_s"] = statistics.median(synced)
        results["save_runs_ours_s"] = " / ".join(f"{t:.2f}" for t in ours)
        results["load_avg"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        results["save_ours_s"] = statistics.median(ours)
        tag = saved[-1]
        del arr

        # 2. get with many versions ------------------------------------------------------------
        store = open_store()
        for _ in range(args.versions - 1):
            with store.models.create("many") as m:
                m.path_of("w.bin").write_bytes(b"w")
        with store.models.create("many") as m:
            m.path_of("w.bin").write_bytes(b"w")
        lat = []
        for _ in range(300):
            t0 = time.perf_counter()
            bento.models.get("many:latest").path_of("w.bin")
            lat.append((time.perf_counter() - t0) * 1000)
        results["get_latest_ms"] = statistics.median(lat)
        lat = []
        first = store.models.list("many")[-1].version
        for _ in range(100):
            t0 = time.perf_counter()
            bento.models.get(f"many:{first[:20]}").path_of("w.bin")
            lat.append((time.perf_counter() - t0) * 1000)
        results["get_prefix_ms"] = statistics.median(lat)

        # 3. export / import ---------------------------------------------------------------------
        item = store.models.get(tag)
        ours_archive = work / "ours.bentomodel"
        gnu_archive = work / "gnu.tar.zst"
        results["export_ours_s"] = median_of(args.runs, lambda: transfer.export(store, "model", tag, ours_archive))
        tar_base = ["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0"]
        for threads in ("1", "0"):
            results[f"export_gnu_T{threads}_s"] = median_of(args.runs, lambda: subprocess.run(
                [*tar_base, "-I", f"zstd -3 -T{threads} -q", "-cf", str(gnu_archive), "-C", str(item.path), "."],
                check=True))
        results["archive_ratio"] = os.path.getsize(ours_archive) / item.size
        counter = iter(range(1000))

        def import_ours() -> None:
            transfer.import_archive(open_store(work / f"import-{next(counter)}"), "model", ours_archive)

        def clear_imports() -> None:
            for p in work.glob("import-*"):
                shutil.rmtree(p)

        results["import_ours_s"] = median_of(args.runs, import_ours, clear_imports)
        dest = work / "gnu-extract"

        def extract_gnu() -> None:
            dest.mkdir()
            subprocess.run(["tar", "-I", "zstd -d -q", "-xf", str(gnu_archive), "-C", str(dest)], check=True)

        results["import_gnu_s"] = median_of(args.runs, extract_gnu, lambda: shutil.rmtree(dest))

        def extract_gnu_synced() -> None:
            extract_gnu()
            subprocess.run(["sync", "-f", str(dest)], check=True)  # what our import's fsyncs guarantee

        results["import_gnu_sync_s"] = median_of(args.runs, extract_gnu_synced, lambda: shutil.rmtree(dest))
        for p in (ours_archive, gnu_archive):
            p.unlink()
        shutil.rmtree(work / "home")

        # 4. BentoML 1.4 ------------------------------------------------------------------------
        if args.bentoml:
            proc = subprocess.run([args.bentoml, str(HERE / "store_bentoml14.py"), str(args.size_mib), str(work)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                results["bentoml_error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"
            else:
                data = json.loads(proc.stdout.strip().splitlines()[-1])
                results.update({f"bentoml_{k}": v for k, v in data.items()})
    finally:
        shutil.rmtree(work, ignore_errors=True)

    report = render(results, args)
    print(report)
    print(json.dumps(results, indent=2), file=sys.stderr)
    if args.update_readme:
        replace_section("## Store", report + _kept_notes())


def _kept_notes() -> str:
    """The hand-written BentoML 1.4 comparison at the end of the Store section (a separate, 20-minute run)."""
    text = (HERE / "README.md").read_text()
    start = text.find("## Store\n")
    end = text.find("\n## ", start + 1) if start != -1 else -1
    section = text[start:end if end != -1 else len(text)] if start != -1 else ""
    at = section.find("\nBentoML 1.4")
    return "\n" + section[at + 1:].rstrip("\n") + "\n" if at != -1 else ""


def render(r: dict[str, float | str], args: argparse.Namespace) -> str:
    mib = args.size_mib
    tput = lambda s: mib / float(s)  # noqa: E731
    floor = max(float(r["sha256_floor_s"]), float(r["save_plain_fsync_s"]))
    lines = [
        "## Store",
        "",
        f"`bench/store_bench.py --size-mib {mib} --runs {args.runs} --versions {args.versions}` (medians of {args.runs}"
        " runs; 2 cores shared with other helpers' test runs, so absolute times are noisy — the ratios compare"
        f" runs interleaved in the same process; load average at the end of the save runs {r['load_avg']})."
        " Model = one float32 `.npy` file of random normals. Every save and import is durable (files, manifest"
        " and folders fsynced before the publishing rename), so the save is held against the larger of the"
        " sha256 of the same bytes and `np.save` + `fsync`, and the import against GNU tar followed by `sync`.",
        "",
        "| measure | ours | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
        f"| save {mib} MiB (`models.create` + `np.save`; hash, fsync, publish incl.) | {float(r['save_ours_s']):.2f} s"
        f" (runs: {r['save_runs_ours_s']}) | max(sha256 {float(r['sha256_floor_s']):.2f} s, `np.save` + `fsync` "
        f"{float(r['save_plain_fsync_s']):.2f} s) | {float(r['save_ours_s']) / floor:.2f}× | ≤ 1.3× |",
        f"| save vs plain `np.save` (page cache only, not durable, not hashed) | {float(r['save_ours_s']):.2f} s | "
        f"{float(r['save_plain_s']):.2f} s | {float(r['save_ours_s']) / float(r['save_plain_s']):.2f}× | — |",
        f"| `get('many:latest').path_of()` with {args.versions} versions | {float(r['get_latest_ms']):.3f} ms | — | — | ≤ 5 ms |",
        f"| `get('many:<20-char prefix>')` with {args.versions} versions | {float(r['get_prefix_ms']):.3f} ms | — | — | — |",
        f"| export (tar + zstd -3, hashes checked) | {tput(r['export_ours_s']):.0f} MiB/s | GNU tar + `zstd -3 -T0` "
        f"{tput(r['export_gnu_T0_s']):.0f} MiB/s | {float(r['export_gnu_T0_s']) / float(r['export_ours_s']):.2f}× | ≥ 0.7× |",
        f"| export vs single-threaded zstd | {tput(r['export_ours_s']):.0f} MiB/s | GNU tar + `zstd -3 -T1` "
        f"{tput(r['export_gnu_T1_s']):.0f} MiB/s | {float(r['export_gnu_T1_s']) / float(r['export_ours_s']):.2f}× | — |",
        f"| import (bounded extract + sha256 verify + fsync + publish) | {tput(r['import_ours_s']):.0f} MiB/s | GNU tar "
        f"`-I 'zstd -d'` + `sync` (no verification) {tput(r['import_gnu_sync_s']):.0f} MiB/s | "
        f"{float(r['import_gnu_sync_s']) / float(r['import_ours_s']):.2f}× | ≥ 0.7× |",
        f"| import vs GNU tar without `sync` (page cache only) | {tput(r['import_ours_s']):.0f} MiB/s | "
        f"{tput(r['import_gnu_s']):.0f} MiB/s | {float(r['import_gnu_s']) / float(r['import_ours_s']):.2f}× | — |",
    ]
    if "bentoml_export_s" in r:
        lines += [
            f"| export vs BentoML 1.4 (`export_model`, {r['bentoml_format']}) | {float(r['export_ours_s']):.1f} s | "
            f"{float(r['bentoml_export_s']):.1f} s | {float(r['bentoml_export_s']) / float(r['export_ours_s']):.0f}× faster | ≥ 20× |",
            f"| save vs BentoML 1.4 (`models.create` + `np.save`) | {float(r['save_ours_s']):.2f} s | "
            f"{float(r['bentoml_save_s']):.2f} s | {float(r['bentoml_save_s']) / float(r['save_ours_s']):.1f}× faster | — |",
            f"| `get(latest)` vs BentoML 1.4 (1 version) | {float(r['get_latest_ms']):.3f} ms | "
            f"{float(r['bentoml_get_ms']):.1f} ms | — | — |",
        ]
    elif "bentoml_error" in r:
        lines += ["", f"BentoML 1.4 comparison failed: `{r['bentoml_error']}`."]
    lines += [
        "",
        f"Archive size: {float(r['archive_ratio']):.3f} × the model (random floats barely compress).",
        "",
        f"**Save {'meets' if float(r['save_ours_s']) / floor <= 1.3 else 'misses'} its ≤ 1.3× target in this run"
        f" ({float(r['save_ours_s']) / floor:.2f}×).** "
        "The save writes through the page cache like `np.save` does; then the store hashes each file while a"
        " helper thread fsyncs it (both release the GIL), so the durable save costs about `np.save` +"
        " max(hash, write-back) rather than their sum. In this run "
        + ("the hash dominated (this virtual disk took 1 GiB of fsync faster than one core hashes it), so the"
           " ratio is about (`np.save` to the page cache + hash) ÷ hash: the page-cache copy is the part no"
           " store can hide, since the user's code writes the file before we see it."
           if float(r["sha256_floor_s"]) >= float(r["save_plain_fsync_s"]) else
           "the write-back dominated, and the hash runs in its shadow.")
        + " Absolute times swing by 2× between runs here (other helpers' test suites share the 2 cores),"
        " hence medians of interleaved runs.",
        "",
        "Export and import are CPU-bound pipelines (compression, sha256, copies) on 2 cores; with a load"
        " average well above 2 they lose far more against GNU tar's C code than in a quiet run, so read"
        " their ratios together with the load average above.",
    ]
    return "\n".join(lines) + "\n"




if __name__ == "__main__":
    main()
