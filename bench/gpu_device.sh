#!/usr/bin/env bash
# The GPU benchmark (bench/gpu_bench.py) on the project's H200 device machine: Python 3.12 with torch,
# numpy and uvloop, no network. Bento's and BentoML 1.4's other packages travel as wheels in .whl/.
#
# 1. Here, in the repository root (downloads py3.12 manylinux wheels through the configured index; .whl/ is
#    git-ignored, about 20 MiB):
#        bash bench/gpu_device.sh prep
# 2. On the device (the `run` tool), from the repository root, with carry [".whl"] and timeout_s 600:
#        bash bench/gpu_device.sh
#    It installs the wheels into two separate folders (BentoML next to Bento would shadow Bento's
#    `import bentoml` alias), runs gpu_bench.py (1 and 4 workers, 64 and 256 connections, 8 s per run;
#    about 4-6 minutes) and leaves results.json, the rendered table and the server logs in $OUT.
#    Optional: GPU_BENCH_ARGS="--duration 5" to shorten it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Packages the device image lacks (it has numpy, torch, click, jinja2, httpx, anyio, h11, prometheus-client,
# fsspec, pyyaml, pathspec, psutil, rich, attrs, cloudpickle, packaging, aiohttp, wrapt, uvloop, ...).
# Versions: what `uv pip compile` resolves for bentoml==1.4.* plus Bento's own dependencies on py3.12.
BENTO_ONLY="httptools==0.7.1 zstandard==0.25.0 docker==7.1.0"
SHARED="starlette==1.10.0 uvicorn==0.55.0 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0
typing-inspection==0.4.5 typing-extensions==4.16.0 python-multipart==0.0.34"
BENTOML_ONLY="bentoml==1.4.40 a2wsgi==1.10.10 aiohttp-asgi-connector==1.2.0 aiosqlite==0.22.1 asgiref==3.13.0
cattrs==23.1.2 click-option-group==0.5.10 httpx-ws==0.9.0 kantoku==0.18.3 opentelemetry-api==1.45.1
opentelemetry-instrumentation==0.66b1 opentelemetry-instrumentation-aiohttp-client==0.66b1
opentelemetry-instrumentation-asgi==0.66b1 opentelemetry-sdk==1.45.1 opentelemetry-semantic-conventions==0.66b1
opentelemetry-util-http==0.66b1 pip-requirements-parser==32.0.1 python-json-logger==4.2.0 pyzmq==27.3.0
rich-toolkit==0.20.6 schema==0.7.8 simple-di==0.1.5 tomli-w==1.2.0 tornado==6.6.1 tzdata==2026.6
watchfiles==1.3.0 wsproto==1.3.2"

if [ "${1:-}" = "prep" ]; then
    rm -rf .whl && mkdir -p .whl
    platforms=""
    for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
             manylinux_2_5_x86_64 manylinux1_x86_64 manylinux_2_24_x86_64 manylinux_2_31_x86_64; do
        platforms="$platforms --platform $p"
    done
    # shellcheck disable=SC2086
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        $platforms -d .whl $BENTO_ONLY $SHARED $BENTOML_ONLY
    "${UV:-uv}" build -q --wheel --out-dir .whl . 2>/dev/null || python3 -m pip wheel -q --no-deps -w .whl .
    ls .whl | wc -l; du -sh .whl
    exit 0
fi

OUT="${OUT:-$PWD/gpu-bench-out}"
mkdir -p "$OUT"
export OUT PYTHONUNBUFFERED=1
install() {  # install every wheel in .whl/ except those matching $2, into $1
    local target=$1 skip=$2
    # shellcheck disable=SC2046
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$target" \
        $(ls .whl/*.whl | grep -v -E "$skip")
}
install /tmp/site-bento '/bentoml-[0-9]'
install /tmp/site-bentoml '/bento_serve-[0-9]'
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt" || true
python3 -c "import torch, sys; print(sys.version.split()[0], 'torch', torch.__version__, torch.cuda.is_available())" \
    | tee -a "$OUT/gpu.txt" || true
PYTHONPATH=/tmp/site-bento python3 -c "import bento, uvloop, httptools; print('bento', bento.__version__)" \
    | tee -a "$OUT/gpu.txt"
PYTHONPATH=/tmp/site-bentoml python3 -c "import bentoml; print('bentoml', bentoml.__version__)" \
    | tee -a "$OUT/gpu.txt"
# shellcheck disable=SC2086
timeout 540 python3 bench/gpu_bench.py --workers 1,4 --connections 64,256 --duration 8 \
    --bento-path /tmp/site-bento --bentoml-path /tmp/site-bentoml --out "$OUT/results.json" \
    ${GPU_BENCH_ARGS:-} 2> >(tee "$OUT/progress.txt" >&2) | tee "$OUT/table.md"
