"""Throughput and memory of manifest filter / drop-classes against a plain json loop.

Generates an object-detection output manifest shaped like real Ground Truth output (1-4 boxes
per image, three classes, per-box confidences, about 520 bytes a line), then runs, each in a
fresh subprocess so that peak memory (max RSS) is measured per variant:

* ``json loads+dumps``: ``for line in f: out.write(json.dumps(json.loads(line)))`` (the baseline);
* ``json loads only``: parsing alone, the floor for anything that must validate every line;
* ``filter``: ``read -> filter_records(min_confidence=0.5) -> write``;
* ``drop-classes``: ``read -> drop_classes(["Duck"]) -> write`` (rewrites about half the lines);
* ``gt-manifest filter``: the same filter through the command line's ``main``.

Run twice, at N/10 and N lines, to show that memory does not grow with the file. Throughput is
reported against wall-clock time and against CPU time (``time.process_time``), which leaves out
the time the process waits for a CPU, so that a busy machine distorts the comparison less; the
ratios to the json baseline use CPU time.

Usage::

    python benchmarks/bench_manifests.py                 # 1,000,000 lines
    python benchmarks/bench_manifests.py --lines 200000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["Bird", "Duck", "Owl"]


def generate(path: Path, n_lines: int, seed: int = 0) -> int:
    """Write an object-detection manifest of ``n_lines`` lines; return its size in bytes."""
    rng = random.Random(seed)
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        buf = []
        for i in range(n_lines):
            width, height = rng.choice(((1024, 768), (1024, 683), (680, 1024), (800, 600)))
            n_boxes = rng.choice((1, 1, 1, 2, 2, 3, 4))
            anns, objs, cmap = [], [], {}
            for _ in range(n_boxes):
                cid = rng.randrange(3)
                left = rng.randrange(0, width - 50)
                top = rng.randrange(0, height - 50)
                w = rng.randrange(10, width - left)
                h = rng.randrange(10, height - top)
                if rng.random() < 0.5:  # averaged boxes are floats in real files
                    left, top = left + rng.choice((0.2, 0.25, 0.4, 0.5)), top + 0.8
                anns.append({"class_id": cid, "top": top, "left": left, "height": h, "width": w})
                objs.append({"confidence": round(rng.random(), 2)})
                cmap[str(cid)] = CLASSES[cid]
            line = {
                "source-ref": f"s3://bench-bucket/images/{i:08x}.jpg",
                "category": {
                    "image_size": [{"width": width, "height": height, "depth": 3}],
                    "annotations": anns,
                },
                "category-metadata": {
                    "objects": objs,
                    "class-map": cmap,
                    "type": "groundtruth/object-detection",
                    "human-annotated": "yes" if rng.random() < 0.9 else "no",
                    "creation-date": "2022-09-12T09:51:00.148118",
                    "job-name": "labeling-job/bench-od",
                },
            }
            buf.append(dumps(line))
            if len(buf) == 10_000:
                fh.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            fh.write("\n".join(buf) + "\n")
    return path.stat().st_size


# --------------------------------------------------------------------------------------------------
# variants (run in a child process: python bench_manifests.py --run VARIANT IN OUT)
# --------------------------------------------------------------------------------------------------


def run_variant(variant: str, src: str, dst: str) -> dict[str, float]:
    sys.path.insert(0, str(REPO))
    if variant not in ("json loads+dumps", "json loads only"):
        import manifests  # imported before the clock starts (about 50 ms)
        import manifests.cli
    t0 = time.perf_counter()
    c0 = time.process_time()
    extra = ""
    if variant == "json loads+dumps":
        encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        n = 0
        with open(src, encoding="utf-8") as fin, open(dst, "w", encoding="utf-8") as fout:
            for line in fin:
                fout.write(encode(json.loads(line)) + "\n")
                n += 1
        read = written = n
    elif variant == "json loads only":
        n = 0
        with open(src, encoding="utf-8") as fin:
            for line in fin:
                json.loads(line)
                n += 1
        read = written = n
    elif variant in ("filter", "drop-classes"):
        acc = manifests.Accounting()
        records = manifests.read(src, accounting=acc)
        if variant == "filter":
            records = manifests.filter_records(
                records, attribute="category", min_confidence=0.5, accounting=acc
            )
        else:
            records = manifests.drop_classes(
                records, ["Duck"], attribute="category", accounting=acc
            )
        manifests.write(records, dst, accounting=acc)
        acc.check()
        read, written = acc.read, acc.written
        extra = "; ".join(f"{k} {v}" for k, v in acc.counters.items())
    elif variant == "gt-manifest filter":
        status = manifests.cli.main(
            ["filter", src, "-a", "category", "--min-confidence", "0.5", "-o", dst, "-q"]
        )
        if status:
            raise SystemExit(status)
        read = written = -1  # counted below, off the clock
    else:
        raise SystemExit(f"unknown variant {variant}")
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if read < 0:
        with open(dst, "rb") as fh:
            written = sum(1 for _ in fh)
        with open(src, "rb") as fh:
            read = sum(1 for _ in fh)
    return {
        "seconds": seconds,
        "cpu": cpu,
        "read": read,
        "written": written,
        "max_rss_mib": peak_rss_mib(),
        "extra": extra,  # type: ignore[dict-item]
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process since it started (exec), in MiB.

    ``VmHWM`` of /proc/self/status on Linux: ``ru_maxrss`` is not used there because Linux
    carries it over from the parent across fork + exec.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


VARIANTS = ["json loads+dumps", "json loads only", "filter", "drop-classes", "gt-manifest filter"]


def measure(variant: str, src: Path, dst: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--run", variant, str(src), str(dst)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per variant (3)")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated subset (default: all)"
    )
    parser.add_argument("--run", nargs=3, metavar=("VARIANT", "IN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--workdir", help="folder for the generated files (default: a temporary one)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    if args.run:
        print(json.dumps(run_variant(*args.run)))
        return

    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPUs; best of {args.repeat}")
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for n_lines in (args.lines // 10, args.lines):
            src = Path(tmp) / f"od-{n_lines}.manifest"
            dst = Path(tmp) / "out.manifest"
            size = generate(src, n_lines)
            print(f"\n{n_lines:,} lines, {size / 1e6:.1f} MB ({size / n_lines:.0f} bytes/line)")
            print(
                f"{'variant':<20} {'lines/s':>9} {'lines/s':>9} {'MB/s':>6} {'x json':>7} "
                f"{'peak RSS':>9}  output"
            )
            print(f"{'':<20} {'wall':>9} {'CPU':>9} {'CPU':>6} {'CPU':>7}")
            base = None
            for variant in args.variants.split(","):
                runs = [measure(variant, src, dst) for _ in range(args.repeat)]
                wall = min(r["seconds"] for r in runs)
                best = min(runs, key=lambda r: r["cpu"])
                rate = best["read"] / best["cpu"]
                if base is None:
                    base = rate
                rss = max(r["max_rss_mib"] for r in runs)
                rows.append(
                    {
                        "variant": variant,
                        "lines": int(best["read"]),
                        "lines_per_s": best["read"] / wall,
                        "lines_per_s_cpu": rate,
                        "x_json_cpu": rate / base,
                        "peak_rss_mib": rss,
                        "written": int(best["written"]),
                    }
                )
                note = f"{int(best['written']):,} lines"
                if best["extra"]:
                    note += f"; {best['extra']}"
                print(
                    f"{variant:<20} {best['read'] / wall:>9,.0f} {rate:>9,.0f} "
                    f"{size / best['cpu'] / 1e6:>6.1f} {rate / base:>7.2f} {rss:>7.1f}Mi  {note}"
                )

    if args.json:
        args.json.write_text(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
