"""Classification speed and memory: our estimators next to crowd-kit and a minimal loop.

Every case runs in its own subprocess, on the same simulated answers (written once to .npy files),
so peak memory (``ru_maxrss``) belongs to that case alone: the "extra" memory is the peak during
``fit`` minus the peak after loading the answers. The "minimal loop" is one EM iteration (E-step
plus soft-count M-step) written as a tight numba loop with no checks, the floor an EM iteration
can reach on these arrays; our per-iteration time is printed as a ratio to it. The default
estimator (variational EBCC / IBCC with evidence-based choice, several fits per call) runs up to
``default_max`` answers (1e6): it is the accurate choice, not the fast one, and its row shows the
price. It fits its settings in parallel threads (``n_jobs=-1``); the ``default-1job`` case fits
them one after the other (``n_jobs=1``, same results), and the ratio of the two is printed.

Run ``python -m benchmarks.bench_classification --quick`` (1e4-1e5 answers) or ``--full``
(up to 1e7 answers); ``--json PATH`` keeps the raw rows. ``--sizes``, ``--ks`` and ``--cases``
narrow a run, e.g. ``--sizes 1e5,1e6 --cases default,default-1job`` for the threads alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import numpy as np

OURS = ("mv", "ds", "mds")
PEERS = ("ck-mv", "ck-ds", "ck-onecoin")
ANSWERS_PER_ITEM = 5


def _maxrss_bytes() -> int:
    """Peak resident memory of this process: ``VmHWM`` on Linux, else ``ru_maxrss``.

    Linux carries ``ru_maxrss`` over from the parent across fork + exec, so a child of a parent
    that once held 1e7 simulated answers would report the parent's peak; ``VmHWM`` starts afresh.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    rss = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return rss if sys.platform == "darwin" else rss * 1024


def _numbers(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x]


def make_data(n_answers: int, k: int, folder: Path, seed: int = 0) -> Path:
    """Simulate ``n_answers`` answers with K classes and store the codes as .npy files."""
    from consolidation import simulate

    n_items = max(n_answers // ANSWERS_PER_ITEM, 1)
    n_workers = int(min(max(50, n_items // 20), 20_000))
    sim = simulate.classification(n_items, n_workers, k, ANSWERS_PER_ITEM, seed=seed)
    ann = sim.annotations
    path = folder / f"n{n_answers}_k{k}"
    path.mkdir(parents=True, exist_ok=True)
    for name in ("items", "workers", "labels"):
        np.save(path / f"{name}.npy", getattr(ann, name))
    np.save(path / "truth.npy", np.asarray(sim.truth))
    (path / "meta.json").write_text(json.dumps({"k": k, "n_answers": int(ann.n_answers)}))
    return path


def _minimal_loop() -> Any:
    import numba

    @numba.njit(cache=True, nogil=True)
    def em_iteration(items, workers, labels, log_emit, log_prior, post, counts):  # type: ignore[no-untyped-def]
        n_items, k = post.shape
        post[:, :] = 0.0
        for a in range(items.shape[0]):
            for t in range(k):
                post[items[a], t] += log_emit[workers[a], labels[a], t]
        for i in range(n_items):
            m = -np.inf
            for t in range(k):
                post[i, t] += log_prior[t]
                m = max(m, post[i, t])
            s = 0.0
            for t in range(k):
                post[i, t] = np.exp(post[i, t] - m)
                s += post[i, t]
            for t in range(k):
                post[i, t] /= s
        counts[:, :, :] = 0.0
        for a in range(items.shape[0]):
            for t in range(k):
                counts[workers[a], labels[a], t] += post[items[a], t]

    return em_iteration


def run_case(method: str, data: Path, backend: str, repeat: int) -> dict[str, Any]:
    """Run one case in this process and return its measurements."""
    meta = json.loads((data / "meta.json").read_text())
    k = int(meta["k"])
    items, workers, labels = (np.load(data / f"{n}.npy") for n in ("items", "workers", "labels"))
    truth = np.load(data / "truth.npy")
    peak = 0  # peak resident memory after the first fit: later fits may reuse freed memory
    row: dict[str, Any] = {
        "method": method,
        "backend": backend,
        "n_answers": int(items.size),
        "k": k,
    }
    if method.startswith("ck-"):
        import pandas as pd
        from crowdkit import aggregation as ck

        df = pd.DataFrame({"task": items, "worker": workers, "label": labels})
        cls = {
            "ck-mv": ck.MajorityVote,
            "ck-ds": ck.DawidSkene,
            "ck-onecoin": ck.OneCoinDawidSkene,
        }[method]
        base = _maxrss_bytes()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            est = cls().fit(df)
            times.append(time.perf_counter() - t0)
            peak = peak or _maxrss_bytes()
        pred = est.labels_.sort_index().to_numpy()
        n_iter = len(getattr(est, "loss_history_", [])) or None
    elif method == "minimal":
        fn = _minimal_loop()
        n_items, n_workers = int(items.max()) + 1, int(workers.max()) + 1
        base = _maxrss_bytes()
        log_emit = np.log(np.full((n_workers, k, k), 1.0 / k))
        log_prior = np.log(np.full(k, 1.0 / k))
        post = np.empty((n_items, k))
        counts = np.empty((n_workers, k, k))
        fn(items, workers, labels, log_emit, log_prior, post, counts)  # compile / warm cache
        times = []
        for _ in range(max(repeat, 3)):
            t0 = time.perf_counter()
            fn(items, workers, labels, log_emit, log_prior, post, counts)
            times.append(time.perf_counter() - t0)
        peak = _maxrss_bytes()
        pred, n_iter = None, 1
    else:
        from consolidation import (
            Annotations,
            DawidSkene,
            MajorityVote,
            ModifiedDawidSkene,
            default_estimator,
        )

        ann = Annotations.from_codes(items, workers, labels, n_classes=k)
        make = {
            "mv": lambda: MajorityVote(seed=0),
            "ds": lambda: DawidSkene(backend=backend),
            "mds": lambda: ModifiedDawidSkene(backend=backend),
            "default": lambda: type(default_estimator())(
                **{**default_estimator().get_params(), "backend": backend}
            ),
            "default-1job": lambda: type(default_estimator())(
                **{**default_estimator().get_params(), "backend": backend, "n_jobs": 1}
            ),
        }[method]
        if backend == "numba" and method != "mv":
            make().fit(Annotations.from_codes([0, 0, 1], [0, 1, 0], [0, 1, 1], n_classes=k))
        base = _maxrss_bytes()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            est = make().fit(ann)
            times.append(time.perf_counter() - t0)
            peak = peak or _maxrss_bytes()
        pred = np.asarray(est.label_codes_)
        # The default fits several settings and restarts: its n_iter_ (the kept run's) would
        # make a per-iteration time meaningless.
        n_iter = None if method.startswith("default") else getattr(est, "n_iter_", None)
    best = min(times)
    row.update(
        seconds=best,
        n_iter=n_iter,
        per_iter=best / n_iter if n_iter else None,
        peak_bytes=peak,
        extra_bytes_per_answer=max(peak - base, 0) / items.size,
        accuracy=None if pred is None else float(np.mean(pred == truth)),
    )
    return row


def _subprocess_case(method: str, data: Path, backend: str, repeat: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.bench_classification",
        "--case",
        method,
        "--data",
        str(data),
        "--backend",
        backend,
        "--repeat",
        str(repeat),
    ]
    env = dict(os.environ)
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    if proc.returncode != 0:
        return {"method": method, "backend": backend, "error": proc.stderr.strip()[-500:]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def have_crowdkit() -> bool:
    try:
        import crowdkit  # noqa: F401
    except ImportError:
        return False
    return True


def run(
    sizes: Iterable[int],
    ks: Iterable[int],
    *,
    peers: bool = True,
    numpy_backend: bool = True,
    repeat: int = 1,
    peer_max: int = 1_000_000,
    default_max: int = 1_000_000,
    log: Any = None,
    only: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Run every case (or the methods in ``only``) and return the rows (one dict per case)."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for k in ks:
                data = make_data(n, k, Path(tmp))
                cases = [("minimal", "numba")]
                cases += [(m, "numba") for m in OURS]
                if n <= default_max:
                    cases += [("default", "numba"), ("default-1job", "numba")]
                if numpy_backend:
                    cases += [(m, "numpy") for m in ("ds", "mds")]
                if peers and have_crowdkit() and n <= peer_max:
                    cases += [(m, "-") for m in PEERS]
                if only is not None:
                    cases = [case for case in cases if case[0] in only]
                for method, backend in cases:
                    row = _subprocess_case(method, data, backend, repeat)
                    rows.append(row)
                    if log is not None:
                        print(format_row(row), file=log, flush=True)
    return rows


def format_row(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['method']:<11} {row['backend']:<6} ERROR {row['error']}"
    per = f"{row['per_iter'] * 1e3:9.2f}" if row.get("per_iter") else "        -"
    acc = f"{row['accuracy']:.4f}" if row.get("accuracy") is not None else "     -"
    return (
        f"{row['method']:<11} {row['backend']:<6} n={row['n_answers']:>9,} K={row['k']:<3}"
        f" {row['seconds']:9.3f}s iters={row['n_iter'] or '-':>4} ms/iter={per}"
        f" extra B/answer={row['extra_bytes_per_answer']:7.1f} acc={acc}"
    )


def ratios(rows: list[dict[str, Any]]) -> list[str]:
    """Lines comparing our fits with crowd-kit's and our iterations with the minimal loop."""
    out = []
    keyed = {
        (r["method"], r["backend"], r["n_answers"], r["k"]): r for r in rows if "error" not in r
    }
    for (method, backend, n, k), r in sorted(keyed.items(), key=lambda x: (x[0][2], x[0][3])):
        one = keyed.get(("default-1job", backend, n, k))
        if method == "default" and one:
            out.append(
                f"DEFAULT n={n:>9,} K={k:<2}  n_jobs=1 / n_jobs=-1 = "
                f"{one['seconds'] / r['seconds']:.2f}x  ({one['seconds']:.2f} s / "
                f"{r['seconds']:.2f} s; peak {one['peak_bytes'] / 2**20:.0f} / "
                f"{r['peak_bytes'] / 2**20:.0f} MiB)"
            )
        if method in ("ds", "mds", "default") and backend == "numba":
            ck = keyed.get(("ck-ds", "-", n, k))
            mini = keyed.get(("minimal", "numba", n, k))
            parts = [f"{method.upper():>3} n={n:>9,} K={k:<2}"]
            if ck:
                parts.append(f"crowd-kit DawidSkene / ours = {ck['seconds'] / r['seconds']:7.1f}x")
                if ck.get("per_iter") and r["per_iter"]:
                    parts.append(f"(per iteration {ck['per_iter'] / r['per_iter']:6.1f}x)")
            if mini and r["per_iter"]:
                ratio = r["per_iter"] / mini["seconds"]
                parts.append(f"our iteration / minimal loop = {ratio:.2f}")
            if len(parts) > 1:
                out.append("  ".join(parts))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="1e4 and 1e5 answers, K=5")
    mode.add_argument("--full", action="store_true", help="1e4 .. 1e7 answers, K = 2, 5, 10")
    parser.add_argument("--json", type=Path, help="write the raw rows here")
    parser.add_argument(
        "--sizes", type=_numbers, help="answer counts, e.g. 1e5,1e6 (default: by mode)"
    )
    parser.add_argument("--ks", type=_numbers, help="class counts, e.g. 5 (default: by mode)")
    parser.add_argument(
        "--cases", type=lambda text: text.split(","), help="only these methods, e.g. default,mds"
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="numba", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, args.data, args.backend, args.repeat)))
        return 0
    if args.full:
        sizes, ks, repeat = [10_000, 100_000, 1_000_000, 10_000_000], [2, 5, 10], 1
    else:
        sizes, ks, repeat = [10_000, 100_000], [5], 3
    rows = run(args.sizes or sizes, args.ks or ks, repeat=repeat, log=sys.stdout, only=args.cases)
    print()
    for line in ratios(rows):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
