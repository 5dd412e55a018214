"""Benchmark `bento containerize` on the scikit-learn (iris) example against the raw engine.

    sudo .venv/bin/python bench/containerize_bench.py [--runs 3] [--base-image bento-test-base:bookworm]

Measures, in one run and with one throwaway BENTO_HOME:
- first containerize: ``bento containerize --no-cache`` (every layer built: venv from vendored wheels,
  models, source), median of ``--runs``;
- rebuild after a one-line source change (warm engine cache): ``bento build`` + ``bento containerize``,
  and for comparison the baseline ``docker build`` (classic builder, the docker CLI) of the very same
  context and Dockerfile, median of ``--runs`` each;
- the image size against its parts: base image + installed packages (the venv) + bento source + models,
  the model layer's size against the model bytes (no duplicated model bytes), and a check that no wheels
  or pip/uv caches are left in the image.

Prints a Markdown section for bench/README.md (``## Containerize``).
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVICE = '''\
import pickle

import numpy as np

import bento


@bento.service(workers=1)
class IrisClassifier:
    model = bento.models.get("iris_sklearn:latest")

    def __init__(self) -> None:
        with open(self.model.path_of("model.pkl"), "rb") as f:
            self.clf = pickle.load(f)

    @bento.api
    def classify(self, input_series: np.ndarray) -> np.ndarray:
        return self.clf.predict(input_series)
'''

BENTOFILE = '''\
service: "service:IrisClassifier"
include: ["*.py"]
python:
  packages: ["scikit-learn=={sklearn}", "numpy=={numpy}"]
  vendor: {vendor}
docker:
  base_image: {base}
'''


def bento(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run([sys.executable, "-m", "bento", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bento {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip()


def docker(*args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise SystemExit(f"docker {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip()


def timed(fn, *args, **kwargs) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def make_project(root: Path, base: str, vendor: bool) -> tuple[Path, int]:
    import numpy as np
    import sklearn
    from sklearn import datasets, svm

    from bento.store import open_store

    iris = datasets.load_iris()
    clf = svm.SVC(gamma="scale").fit(iris.data, iris.target)
    payload = pickle.dumps(clf)
    with open_store().models.create("iris_sklearn") as m:
        m.path_of("model.pkl").write_bytes(payload)
    project = root / "iris"
    project.mkdir()
    (project / "service.py").write_text(SERVICE)
    (project / "bentofile.yaml").write_text(BENTOFILE.format(
        sklearn=sklearn.__version__, numpy=np.__version__, base=base, vendor=str(vendor).lower()))
    return project, len(payload)


def image_size(ref: str) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", ref))


def du(image: str, *paths: str) -> dict[str, int]:
    out = docker("run", "--rm", "--entrypoint", "du", image, "-sb", *paths)
    return {line.split("\t")[1]: int(line.split("\t")[0]) for line in out.splitlines()}


def leftovers(image: str) -> str:
    script = ("for p in /opt/bento/python /root/.cache /home/bento/.cache /tmp/pip-* /var/lib/apt/lists/*.lz4;"
              " do [ -e \"$p\" ] && echo \"$p\"; done; true")
    return docker("run", "--rm", "--entrypoint", "sh", image, "-c", script)


def model_layer(image: str) -> int:
    """Size of the layer that copies the models (the classic builder names the source `dir:<hash>`)."""
    rows = docker("history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", "--human=false", image)
    for line in rows.splitlines():
        size, _, created_by = line.partition("\t")
        if "/home/bento/store/" in created_by and "COPY" in created_by:
            return int(size)
    return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base-image", default="bento-test-base:bookworm")
    parser.add_argument("--no-vendor", action="store_true", help="install from the index instead of wheels")
    parser.add_argument("--keep", action="store_true", help="keep the images built")
    opts = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bento-cz-bench-"))
    os.environ["BENTO_HOME"] = str(work / "home")
    images: list[str] = []
    try:
        project, model_bytes = make_project(work, opts.base_image, not opts.no_vendor)
        tag = bento("build", "-o", "tag", cwd=project).splitlines()[-1]
        image = f"bento-bench-iris:{tag.split(':')[1]}"
        images.append(image)

        first: list[float] = []
        for _ in range(opts.runs):
            seconds, _ = timed(bento, "containerize", tag, "-t", image, "--no-cache", "--progress", "quiet")
            first.append(seconds)

        rebuild_build: list[float] = []
        rebuild_cz: list[float] = []
        baseline: list[float] = []
        for i in range(opts.runs):
            with open(project / "service.py", "a") as f:
                f.write(f"# change {i}\n")
            seconds, out = timed(bento, "build", "-o", "tag", cwd=project)
            rebuild_build.append(seconds)
            new_tag = str(out).splitlines()[-1]
            new_image = f"bento-bench-iris:{new_tag.split(':')[1]}"
            images.append(new_image)
            seconds, _ = timed(bento, "containerize", new_tag, "-t", new_image, "--progress", "quiet")
            rebuild_cz.append(seconds)
            # Baseline: the docker CLI's classic build of the same context after the same kind of change.
            from bento.builder.context import BuildContext, read_bento
            from bento.store import open_store

            ref = read_bento(open_store().bentos.get(new_tag).path)
            with BuildContext(ref) as ctx:
                # Context files are hard links into the store: replace the file, never write through it.
                source = ctx.path / "src" / "service.py"
                text = source.read_text() + f"# baseline change {i}\n"
                source.unlink()
                source.write_text(text)
                seconds, _ = timed(docker, "build", "-q", "-f", str(ctx.path / ctx.dockerfile),
                                   "-t", "bento-bench-baseline:latest", str(ctx.path),
                                   env={"DOCKER_BUILDKIT": "0"})
                baseline.append(seconds)
        images.append("bento-bench-baseline:latest")

        final = images[-2]
        total = image_size(final)
        base = image_size(opts.base_image)
        parts = du(final, "/opt/bento/venv", "/home/bento/bento", "/home/bento/store")
        venv, src, store = parts["/opt/bento/venv"], parts["/home/bento/bento"], parts["/home/bento/store"]
        other = total - base - venv - src - store
        layer = model_layer(final)
        left = leftovers(final) or "none"

        med = statistics.median
        mib = 1 << 20
        print("## Containerize\n")
        print(f"`bench/containerize_bench.py --runs {opts.runs}` (scikit-learn iris example, "
              f"{'vendored wheels' if not opts.no_vendor else 'index install'}, base "
              f"`{opts.base_image}`, Docker {docker('version', '--format', '{{.Server.Version}}')} classic "
              "builder). 2-core machine shared with other helpers' test runs: absolute times are noisy, "
              "compare the ratios. Medians of "
              f"{opts.runs} runs.\n")
        print("| measure | time |")
        print("|---|---|")
        print(f"| first containerize (`--no-cache`, every layer) | {med(first):.1f} s |")
        print(f"| rebuild after a one-line source change: `bento containerize` | {med(rebuild_cz):.1f} s "
              "(target ≤ 15 s) |")
        print(f"| same change, baseline `docker build` (CLI, same context) | {med(baseline):.1f} s |")
        print(f"| ratio containerize / baseline | {med(rebuild_cz) / med(baseline):.2f} |")
        print(f"| `bento build` after the change (not part of the target) | {med(rebuild_build):.1f} s |")
        print()
        print("| image part | size |")
        print("|---|---|")
        print(f"| base image | {base / mib:.1f} MiB |")
        print(f"| installed packages (`/opt/bento/venv`) | {venv / mib:.1f} MiB |")
        print(f"| bento (`/home/bento/bento`) | {src / mib:.2f} MiB |")
        print(f"| models (`/home/bento/store`; model file {model_bytes / mib:.2f} MiB, "
              f"model layer {layer / mib:.2f} MiB) | {store / mib:.2f} MiB |")
        print(f"| **image total** | **{total / mib:.1f} MiB** |")
        print(f"| rest (user, entrypoint, metadata) | {other / mib:.2f} MiB |")
        print()
        print(f"Left in the image from the build (wheels, pip caches): {left}.")
    finally:
        if not opts.keep:
            for ref in images:
                subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
