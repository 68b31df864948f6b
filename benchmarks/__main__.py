"""Run the benchmark suite and write BENCHMARKS.md with its plots.

    python -m benchmarks --quick            # under 3 minutes on 2 cores (CI smoke test)
    python -m benchmarks --full             # 20-40 minutes: classification up to 1e7 answers
    python -m benchmarks --quick --only classification,coldstart --out benchmarks/results

Parts: classification (speed and memory next to crowd-kit and a minimal loop), accuracy (real
data sets next to published numbers), boxes (next to ensemble-boxes), manifests (next to a plain
json loop), coldstart (a fresh process: import and first consolidation). Peers that are not
installed are skipped with a note. Writes ``OUT/BENCHMARKS.md`` (OUT defaults to the repository
root) and ``OUT/benchmark-results/`` (PNG plots and ``results.json``, the raw numbers:
``--from-json`` rewrites the report from them without measuring again).

Exit status: 0 when every part ran or was skipped for a reason outside this run (a peer or a
benchmark module missing, a timeout); 1 when our code crashed (the report is written anyway).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import _machine, _parts, _plots, _report, _targets

PARTS = ("classification", "accuracy", "boxes", "manifests", "coldstart")
RESULTS_DIR = "benchmark-results"


def _sizes(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes (default)")
    mode.add_argument("--full", action="store_true", help="all sizes, up to 1e7 answers")
    parser.add_argument(
        "--out",
        type=Path,
        default=_machine.REPO,
        help="folder for BENCHMARKS.md and benchmark-results/ (repo root)",
    )
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated parts to run (default: {','.join(PARTS)})",
    )
    parser.add_argument(
        "--sizes", type=_sizes, help="classification answer counts, e.g. 1e6,1e7 (default: by mode)"
    )
    parser.add_argument("--ks", type=_sizes, help="classification class counts, e.g. 5")
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="RESULTS",
        help="rewrite the report from a results.json without measuring",
    )
    args = parser.parse_args(argv)
    args.only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(args.only) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    return args


def measure(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    mode = "full" if args.full else "quick"
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "-m", "benchmarks", *argv]),
        "mode": mode,
        "machine": _machine.describe(),
        "parts": {},
    }
    start = time.perf_counter()
    for name in (p for p in PARTS if p in args.only):
        print(f"\n=== {name} ({mode})", flush=True)
        t0 = time.perf_counter()
        part = _parts.run_part(name, mode, args.sizes, args.ks)
        part["seconds"] = time.perf_counter() - t0
        results["parts"][name] = part
        if part["status"] != "ok":
            print(f"--- {name}: {part['status']}: {part['reason']}", flush=True)
    results["seconds"] = time.perf_counter() - start
    results["load_end"] = _machine.load_average()
    return results


def write(results: dict[str, Any], out: Path) -> tuple[Path, bool]:
    """Write results.json, the plots and BENCHMARKS.md; return the report and plots' success."""
    folder = out / RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):  # plots of an earlier run must not pass for this one's
        old.unlink()
    (folder / "results.json").write_text(json.dumps(results, indent=1, default=str))
    try:
        drawn, plot_note = _plots.draw(results["parts"], folder)
        plots_ok = plot_note is None or plot_note.startswith("skipped")
    except Exception as exc:  # a plotting bug must not lose the numbers
        drawn, plot_note, plots_ok = {}, f"failed: {type(exc).__name__}: {exc}", False
    links = {name: path.relative_to(out).as_posix() for name, path in drawn.items()}
    report = out / "BENCHMARKS.md"
    report.write_text(_report.render(results, links, plot_note))
    return report, plots_ok


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    results = json.loads(args.from_json.read_text()) if args.from_json else measure(args, argv)
    os.makedirs(args.out, exist_ok=True)
    report, plots_ok = write(results, args.out)
    print(f"\nwrote {report} in {results['seconds']:.0f} s\n")
    for target, measured, status in _targets.evaluate(results["parts"]):
        print(f"{status:>12}  {target}: {measured}")
    failed = [n for n, p in results["parts"].items() if p["status"] == "failed"]
    if failed:
        print(f"\nfailed: {', '.join(failed)} (see {report})", file=sys.stderr)
    return 1 if failed or not plots_ok else 0


if __name__ == "__main__":
    raise SystemExit(main())
