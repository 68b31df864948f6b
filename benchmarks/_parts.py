"""The parts of the suite: each runs one benchmark and returns a result record.

A record is ``{"status": "ok" | "not run" | "failed", "reason": str, "data": ..., "command": str}``.
``not run`` is for what is not ours to fix here (a benchmark module that does not exist yet or
lacks ``--json``, a timeout); ``failed`` is a crash of our code, and makes the suite exit 1.

Classification and cold start run in this process (each of their cases is its own subprocess);
boxes, accuracy and manifests run as ``python -m benchmarks.bench_X ... --json PATH``, with only
the options their ``--help`` lists (so that a module still being written degrades to a note).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
Options = Sequence[tuple[str, str | None]]

#: Sizes per mode. ``--quick`` must finish in under 3 minutes on 2 cores.
SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "sizes": [10_000, 100_000],
        "ks": [5],
        "repeat": 2,  # best of N fits up to 1e5 answers; one fit above
        "crowdkit_max": 1_000_000,
        "boxes": [("--images", "1000"), ("--repeat", "3")],
        "accuracy": [("--quick", None)],
        "manifests": [("--lines", "100000"), ("--repeat", "1")],
        "coldstart_repeat": 1,
        "timeout": 90,  # per part run as a subprocess
    },
    "full": {
        "sizes": [10_000, 100_000, 1_000_000, 10_000_000],
        "ks": [2, 5, 10],
        "repeat": 3,
        "crowdkit_max": 1_000_000,  # crowd-kit at 1e7 answers takes too long
        "boxes": [("--images", "10000"), ("--repeat", "3")],
        "accuracy": [],
        "manifests": [("--lines", "1000000"), ("--repeat", "3")],
        "coldstart_repeat": 3,
        "timeout": 3600,
    },
}


def result(status: str, reason: str = "", data: Any = None, command: str = "") -> dict[str, Any]:
    return {"status": status, "reason": reason, "data": data, "command": command}


def classification(mode: str, sizes: list[int] | None, ks: list[int] | None) -> dict[str, Any]:
    from benchmarks import bench_classification as bc

    cfg = SETTINGS[mode]
    sizes, ks = sizes or cfg["sizes"], ks or cfg["ks"]
    groups = [
        ([n for n in sizes if n <= 100_000], cfg["repeat"]),
        ([n for n in sizes if n > 100_000], 1),
    ]
    rows: list[dict[str, Any]] = []
    for group, repeat in groups:
        if group:
            rows += bc.run(group, ks, repeat=repeat, peer_max=cfg["crowdkit_max"], log=sys.stdout)
    command = (
        f"benchmarks.bench_classification.run(sizes={sizes}, ks={ks}, repeat={cfg['repeat']} "
        f"up to 1e5 answers else 1, crowd-kit up to {cfg['crowdkit_max']:,} answers)"
    )
    ours = [r for r in rows if "error" in r and not r["method"].startswith("ck-")]
    if ours:
        reason = "; ".join(f"{r['method']}[{r['backend']}]: {r['error']}" for r in ours)
        return result("failed", reason, rows, command)
    return result("ok", "", rows, command)


def coldstart(mode: str) -> dict[str, Any]:
    from benchmarks import bench_coldstart

    rows = bench_coldstart.run(SETTINGS[mode]["coldstart_repeat"])
    for row in rows:
        print(bench_coldstart.format_row(row), flush=True)
    command = f"benchmarks.bench_coldstart.run(repeat={SETTINGS[mode]['coldstart_repeat']})"
    errors = [f"{r['case']}: {r['error']}" for r in rows if "error" in r]
    return result("failed" if errors else "ok", "; ".join(errors), rows, command)


def _supported(options: Options, help_text: str) -> list[str]:
    args: list[str] = []
    for flag, value in options:
        if re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text):
            args += [flag] if value is None else [flag, value]
    return args


def run_module(name: str, options: Options, timeout: float) -> dict[str, Any]:
    """Run ``python -m benchmarks.<name> <options> --json PATH`` and return its JSON."""
    if not (REPO / "benchmarks" / f"{name}.py").exists():
        return result("not run", f"benchmarks/{name}.py does not exist yet")
    module = f"benchmarks.{name}"
    try:
        shown = subprocess.run(
            [sys.executable, "-m", module, "--help"],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return result("not run", f"`{module} --help` timed out")
    if shown.returncode != 0:
        return result("failed", f"`{module} --help` failed: {_tail(shown.stderr)}")
    if "--json" not in shown.stdout:
        return result("not run", f"{module} has no --json option yet (nothing to read back)")
    args = _supported(options, shown.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", module, *args, "--json", str(out)]
        command = "python -m " + " ".join([module, *args, "--json", "PATH"])
        print(f"$ {command}", flush=True)
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, cwd=REPO, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return result("not run", f"timed out after {timeout:.0f} s", command=command)
        print(proc.stdout, end="", flush=True)
        if proc.returncode == 2 and "usage:" in proc.stderr:
            return result(
                "not run", f"command line not accepted: {_tail(proc.stderr)}", command=command
            )
        if proc.returncode != 0:
            return result(
                "failed", f"exit status {proc.returncode}: {_tail(proc.stderr)}", command=command
            )
        if not out.exists():
            return result("not run", "it exited 0 but wrote no JSON", command=command)
        return result("ok", "", json.loads(out.read_text()), command)


def _tail(text: str, n: int = 600) -> str:
    text = text.strip()
    return ("..." + text[-n:]) if len(text) > n else text or "(no message)"


def run_part(name: str, mode: str, sizes: list[int] | None, ks: list[int] | None) -> dict[str, Any]:
    """Run one part; an exception becomes a ``failed`` record with its traceback."""
    timeout = SETTINGS[mode]["timeout"]
    try:
        if name == "classification":
            return classification(mode, sizes, ks)
        if name == "coldstart":
            return coldstart(mode)
        return run_module(f"bench_{name}", SETTINGS[mode][name], timeout)
    except Exception:
        return result("failed", traceback.format_exc(limit=-3))
