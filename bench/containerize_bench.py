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


def make_project(root: Path, base: str, vendor: bool, model_mib: int) -> tuple[Path, int]:
    import numpy as np
    import sklearn
    from sklearn import datasets, svm

    from bento.store import open_store

    iris = datasets.load_iris()
    clf = svm.SVC(gamma="scale").fit(iris.data, iris.target)
    payload = pickle.dumps(clf)
    with open_store().models.create("iris_sklearn") as m:
        m.path_of("model.pkl").write_bytes(payload)
        # Stand-in for real weights, so a duplicated copy of the model would show in the image size.
        m.path_of("weights.bin").write_bytes(os.urandom(model_mib << 20))
    project = root / "iris"
    project.mkdir()
    (project / "service.py").write_text(SERVICE)
    (project / "bentofile.yaml").write_text(BENTOFILE.format(
        sklearn=sklearn.__version__, numpy=np.__version__, base=base, vendor=str(vendor).lower()))
    return project, len(payload) + (model_mib << 20)


def image_size(ref: str) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", ref))


def du(image: str, path: str) -> int:
    out = docker("run", "--rm", "--entrypoint", "du", image, "-sb", path)
    return int(out.split()[0])


def leftovers(image: str) -> str:
    script = ("for p in /opt/bento/python /root/.cache /home/bento/.cache /tmp/pip-* /var/lib/apt/lists/*.lz4;"
              " do [ -e \"$p\" ] && echo \"$p\"; done; true")
    return docker("run", "--rm", "--entrypoint", "sh", image, "-c", script)


def layers(image: str, base: str) -> dict[str, int]:
    """Bytes per part of the image, from its layer history (classic builder: `COPY ... in <dest>`)."""
    own = docker("history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", image)
    base_rows = len(docker("history", "-q", base).splitlines())
    rows = own.splitlines()[: -base_rows]
    parts = {"packages": 0, "models": 0, "bento": 0, "other": 0}
    for line in rows:
        size, _, created_by = line.partition("\t")
        if created_by.rstrip().endswith("in /opt/bento/venv"):
            parts["packages"] += int(size)
        elif "in /home/bento/store/" in created_by:
            parts["models"] += int(size)
        elif "in /home/bento/bento/" in created_by:
            parts["bento"] += int(size)
        else:
            parts["other"] += int(size)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base-image", default="bento-test-base:bookworm")
    parser.add_argument("--no-vendor", action="store_true", help="install from the index instead of wheels")
    parser.add_argument("--keep", action="store_true", help="keep the images built")
    parser.add_argument("--model-mib", type=int, default=64, help="random weights added to the model")
    opts = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bento-cz-bench-"))
    os.environ["BENTO_HOME"] = str(work / "home")
    images: list[str] = []
    try:
        project, model_bytes = make_project(work, opts.base_image, not opts.no_vendor,
                                                 opts.model_mib)
        tag = bento("build", "-o", "tag", cwd=project).splitlines()[-1]
        image = f"bento-bench-iris:{tag.split(':')[1]}"
        images.append(image)

        from bento.builder.context import BuildContext, read_bento
        from bento.store import open_store

        first: list[float] = []
        first_baseline: list[float] = []
        for _ in range(opts.runs):
            seconds, _ = timed(bento, "containerize", tag, "-t", image, "--no-cache", "--progress", "quiet")
            first.append(seconds)
            # Baseline: the docker CLI's classic build of the same context, also without cache.
            with BuildContext(read_bento(open_store().bentos.get(tag).path)) as ctx:
                seconds, _ = timed(docker, "build", "-q", "--no-cache", "-f", str(ctx.path / ctx.dockerfile),
                                   "-t", "bento-bench-baseline:latest", str(ctx.path),
                                   env={"DOCKER_BUILDKIT": "0"})
                first_baseline.append(seconds)

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
        parts = layers(final, opts.base_image)
        venv = du(final, "/opt/bento/venv")
        left = leftovers(final) or "none"

        med = statistics.median
        mib = 1 << 20
        print("## Containerize\n")
        print(f"`bench/containerize_bench.py --runs {opts.runs} --model-mib {opts.model_mib}` (scikit-learn iris "
              f"example plus {opts.model_mib} MiB of weights, "
              f"{'vendored wheels' if not opts.no_vendor else 'index install'}, base "
              f"`{opts.base_image}`, Docker {docker('version', '--format', '{{.Server.Version}}')} classic "
              "builder). Baseline: `docker build` (CLI, classic builder) of the very same context and "
              "Dockerfile in the same run. 2-core machine shared with other helpers' test runs: absolute "
              f"times are noisy, compare the ratios. Medians of {opts.runs} runs.\n")
        print("| measure | bento containerize | baseline docker build | ratio |")
        print("|---|---|---|---|")
        print(f"| first build (`--no-cache`, every layer) | {med(first):.1f} s | {med(first_baseline):.1f} s "
              f"| {med(first) / med(first_baseline):.2f} |")
        print(f"| rebuild after a one-line source change (target ≤ 15 s) | {med(rebuild_cz):.1f} s "
              f"| {med(baseline):.1f} s | {med(rebuild_cz) / med(baseline):.2f} |")
        print(f"\n`bento build` of the changed project (before the rebuild, not part of the target): "
              f"{med(rebuild_build):.1f} s.\n")
        print("| image part (from the layer history) | size |")
        print("|---|---|")
        print(f"| base image | {base / mib:.1f} MiB |")
        print(f"| installed packages, venv layer (`du` of `/opt/bento/venv`: {venv / mib:.1f} MiB) "
              f"| {parts['packages'] / mib:.1f} MiB |")
        print(f"| models layer (model files: {model_bytes / mib:.2f} MiB) | {parts['models'] / mib:.2f} MiB |")
        print(f"| bento source layers | {parts['bento'] / mib:.3f} MiB |")
        print(f"| everything else (user, entrypoint) | {parts['other'] / mib:.3f} MiB |")
        print(f"| **image total** | **{total / mib:.1f} MiB** |")
        print(f"\nThe model bytes are in the image once (the models layer), the venv layer is the installed "
              f"packages and nothing else; left in the image from the build (wheels, pip caches): {left}.")
    finally:
        if not opts.keep:
            for ref in images:
                subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
