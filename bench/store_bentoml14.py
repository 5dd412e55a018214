"""Run by BentoML 1.4's own interpreter (a throwaway venv): save a model of N MiB, time get and export.

Prints one JSON line: {"save_s", "get_ms", "export_s", "export_bytes", "format"}.
Usage: /tmp/bentoml14/bin/python bench/store_bentoml14.py SIZE_MIB WORKDIR
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

size_mib, work = int(sys.argv[1]), sys.argv[2]
os.environ["BENTOML_HOME"] = os.path.join(work, "bentoml-home")

import bentoml  # noqa: E402
import numpy as np  # noqa: E402

arr = np.random.default_rng(0).standard_normal(size_mib * (1 << 20) // 4, dtype=np.float32)
t0 = time.perf_counter()
with bentoml.models.create("bench_model") as model:
    np.save(model.path_of("weights.npy"), arr)
save_s = time.perf_counter() - t0
del arr

gets = []
for _ in range(20):
    t0 = time.perf_counter()
    m = bentoml.models.get("bench_model:latest")
    m.path_of("weights.npy")
    gets.append((time.perf_counter() - t0) * 1000)

out = os.path.join(work, "bentoml-export")
os.makedirs(out, exist_ok=True)
t0 = time.perf_counter()
path = bentoml.models.export_model("bench_model:latest", out + "/")
export_s = time.perf_counter() - t0
print(json.dumps({"save_s": save_s, "get_ms": statistics.median(gets), "export_s": export_s,
                  "export_bytes": os.path.getsize(path), "format": os.path.basename(path)}))
