"""Lambda cold start: a fresh process imports the package and runs its first consolidation.

Each case is a new ``python -c`` process (nothing imported but ``sys`` and ``time`` before the
clock starts) that times the import, checks which heavy modules the import pulled in (numba must
not be one of them), then times the first consolidation of 1k simulated answers (200 objects x
5 workers, K = 5; simulating them is not timed):

* ``mds numba, cold cache``: ``ModifiedDawidSkene()`` with an empty ``NUMBA_CACHE_DIR`` (the first
  fit includes numba's import and JIT compilation);
* ``mds numba, warm cache``: the same, reusing that cache directory (what a Lambda that ships or
  keeps its cache pays);
* ``mds numpy``: ``ModifiedDawidSkene(backend="numpy")``: numba is never imported;
* ``lambda, cold cache`` / ``lambda, warm cache``: the whole post-annotation path,
  ``consolidation.lambda_handler.handler`` on an inline payload with ``Settings(method="mds")``
  (JSON decoding of every answer, consolidation, the response).

Peak memory is the process's ``VmHWM`` (``ru_maxrss`` on Linux inherits the parent's peak across
fork + exec). ``process`` is the wall time of the whole child as the parent sees it (interpreter
start included). Run ``python -m benchmarks.bench_coldstart [--repeat 3] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
N_OBJECTS, N_WORKERS, ANSWERS_PER_OBJECT, K = 200, 20, 5, 5

# Runs in the fresh process; argv: kind ("numba", "numpy" or "lambda") and the four sizes.
CHILD = r"""
import sys, time
kind = sys.argv[1]
n_objects, n_workers, per_object, k = map(int, sys.argv[2:6])
t0 = time.perf_counter()
if kind == "lambda":
    from consolidation.lambda_handler import Settings, handler
else:
    from consolidation import ModifiedDawidSkene
import_s = time.perf_counter() - t0
loaded = {m: m in sys.modules for m in ("numba", "scipy", "pandas")}

import json
from consolidation import simulate

ann = simulate.classification(n_objects, n_workers, k, per_object, seed=0).annotations
if kind == "lambda":
    def answer(w, lab):
        content = json.dumps({"category": {"label": f"class-{lab}"}})
        return {"workerId": f"worker-{w}", "annotationData": {"content": content}}
    payload = [{"datasetObjectId": str(i), "annotations": []} for i in range(n_objects)]
    for i, w, lab in zip(ann.items.tolist(), ann.workers.tolist(), ann.labels.tolist()):
        payload[i]["annotations"].append(answer(w, lab))
    event = {
        "version": "2018-10-16",
        "labelingJobArn": "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/coldstart",
        "labelAttributeName": "category",
        "labelCategories": [f"class-{c}" for c in range(k)],
        "payload": payload,
    }
    t1 = time.perf_counter()
    out = handler(event, None, settings=Settings(method="mds"))
    fit_s = time.perf_counter() - t1
    assert len(out) == n_objects, len(out)
else:
    t1 = time.perf_counter()
    ModifiedDawidSkene(backend=kind).fit(ann)
    fit_s = time.perf_counter() - t1
peak = None
with open("/proc/self/status") as fh:
    for line in fh:
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024
print(json.dumps({
    "import_s": import_s, "first_fit_s": fit_s, "answers": int(ann.n_answers),
    "after_import": loaded, "numba_after_fit": "numba" in sys.modules, "peak_rss_bytes": peak,
}))
"""

CASES = (
    ("mds numba, cold cache", "numba", "cold"),
    ("mds numba, warm cache", "numba", "warm"),
    ("mds numpy", "numpy", None),
    ("lambda, cold cache", "lambda", "cold"),
    ("lambda, warm cache", "lambda", "warm"),
)


def run_child(kind: str, cache_dir: str | None) -> dict[str, Any]:
    """Run one fresh process and return its measurements (``error`` when it failed)."""
    env = dict(os.environ)
    env.pop("NUMBA_DISABLE_JIT", None)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    sizes = (N_OBJECTS, N_WORKERS, ANSWERS_PER_OBJECT, K)
    cmd = [sys.executable, "-c", CHILD, kind, *map(str, sizes)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    process_s = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-800:] or f"exit status {proc.returncode}"}
    row: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    row["process_s"] = process_s
    row["total_s"] = row["import_s"] + row["first_fit_s"]
    return row


def run(repeat: int = 1) -> list[dict[str, Any]]:
    """Measure every case ``repeat`` times (a fresh cache for each cold run); keep the fastest."""
    best: dict[str, dict[str, Any]] = {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as tmp:
            for name, kind, cache in CASES:
                if cache == "cold":  # a new empty cache; the warm case that follows reuses it
                    cache_dir = tempfile.mkdtemp(dir=tmp)
                row = run_child(kind, cache_dir if cache else None)
                row["case"] = name
                old = best.get(name)
                if old is None or "error" in old or row.get("total_s", 1e9) < old["total_s"]:
                    best[name] = row
    return [best[name] for name, _, _ in CASES]


def format_row(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['case']:<24} ERROR {row['error']}"
    return (
        f"{row['case']:<24} import {row['import_s']:6.3f}s  first fit {row['first_fit_s']:7.3f}s"
        f"  total {row['total_s']:7.3f}s  process {row['process_s']:7.3f}s"
        f"  peak {row['peak_rss_bytes'] / 2**20:6.1f} MiB"
        f"  numba after import: {row['after_import']['numba']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="best of N fresh processes (1)")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args(argv)
    rows = run(args.repeat)
    for row in rows:
        print(format_row(row))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
