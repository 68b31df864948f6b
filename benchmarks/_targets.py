"""The quality bars of DESIGN.md and the issues, checked against the numbers of one run.

Each check returns ``(target, measured, status)`` with status ``met``, ``NOT MET`` or
``not measured``. A target defined at a size this run did not reach (``--quick`` stops at 1e5
answers) is ``not measured``; the measured column then shows the largest size run, marked
"indicative".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks._records import find, records

Row = dict[str, Any]
Check = tuple[str, str, str]

SPEEDUP_VS_CROWDKIT = 50.0
ITERATION_VS_MINIMAL = 2.0
EXTRA_BYTES_PER_ANSWER = 40.0
SECONDS_AT_1E7 = 5.0
BOXES_VS_WBF = 10.0
FILTER_LINES_PER_S = 200_000.0
DROP_CLASSES_LINES_PER_S = 100_000.0
FLAT_MEMORY_GROWTH = 1.25  # peak RSS at N lines vs N/10 lines


def _status(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def _ok_rows(part: dict[str, Any] | None) -> list[Row]:
    if not part or not isinstance(part.get("data"), list):
        return []
    return [r for r in part["data"] if isinstance(r, dict) and "error" not in r]


def _at(rows: list[Row], n: int, k: int = 5) -> dict[tuple[str, str], Row]:
    return {(r["method"], r["backend"]): r for r in rows if r["n_answers"] == n and r["k"] == k}


def _classification_check(
    rows: list[Row],
    target: str,
    n: int,
    measure: Callable[[dict[tuple[str, str], Row]], Any],
    indicative: bool = True,
) -> Check:
    """Evaluate ``measure`` at ``n`` answers (K=5), else at the largest size run (indicative).

    ``measure`` returns ``(text, ok)`` or None when the cases it needs are missing.
    """
    got = measure(_at(rows, n)) if rows else None
    if got is not None:
        return target, got[0], _status(got[1])
    sizes = sorted({r["n_answers"] for r in rows if r["k"] == 5 and indicative}, reverse=True)
    for size in sizes:
        got = measure(_at(rows, size))
        if got is not None:
            return target, f"{got[0]} at {size:,} answers (indicative)", "not measured"
    return target, "-", "not measured"


def _speedup(cases: dict[tuple[str, str], Row]) -> tuple[str, bool] | None:
    ck = cases.get(("ck-ds", "-"))
    ours = [cases.get((m, "numba")) for m in ("ds", "mds")]
    if ck is None or None in ours:
        return None
    x = [ck["seconds"] / r["seconds"] for r in ours if r]
    return f"DS {x[0]:.1f}x, MDS {x[1]:.1f}x", min(x) >= SPEEDUP_VS_CROWDKIT


def _iteration(cases: dict[tuple[str, str], Row]) -> tuple[str, bool] | None:
    mini = cases.get(("minimal", "numba"))
    ours = [cases.get((m, "numba")) for m in ("ds", "mds")]
    if mini is None or None in ours or not all(r and r.get("per_iter") for r in ours):
        return None
    x = [r["per_iter"] / mini["seconds"] for r in ours if r]
    return f"DS {x[0]:.2f}x, MDS {x[1]:.2f}x the loop", max(x) <= ITERATION_VS_MINIMAL


def _memory(cases: dict[tuple[str, str], Row]) -> tuple[str, bool] | None:
    ours = [cases.get((m, "numba")) for m in ("ds", "mds")]
    if None in ours:
        return None
    x = [r["extra_bytes_per_answer"] for r in ours if r]
    return f"DS {x[0]:.0f} B, MDS {x[1]:.0f} B", max(x) <= EXTRA_BYTES_PER_ANSWER


def _ten_million(cases: dict[tuple[str, str], Row]) -> tuple[str, bool] | None:
    ours = [cases.get((m, "numba")) for m in ("ds", "mds")]
    if None in ours:
        return None
    x = [r["seconds"] for r in ours if r]
    return f"DS {x[0]:.1f} s, MDS {x[1]:.1f} s", max(x) < SECONDS_AT_1E7


def classification(part: dict[str, Any] | None) -> list[Check]:
    rows = _ok_rows(part)
    return [
        _classification_check(
            rows,
            "DS and MDS (numba) fit >= 50x faster than crowd-kit DawidSkene, 1e6 answers, K=5",
            1_000_000,
            _speedup,
        ),
        _classification_check(
            rows,
            "numba EM iteration within 2x of the minimal loop, 1e6 answers, K=5",
            1_000_000,
            _iteration,
        ),
        _classification_check(
            rows,
            "<= 40 extra bytes per answer during fit (DS, MDS numba), 1e6 answers, K=5",
            1_000_000,
            _memory,
        ),
        _classification_check(
            rows, "1e7 answers fit in < 5 s (DS, MDS numba), K=5", 10_000_000, _ten_million, False
        ),
    ]


def boxes(part: dict[str, Any] | None) -> list[Check]:
    target = "boxes: BoxConsolidator (numba) >= 10x ensemble-boxes WBF, images/s"
    data = part.get("data") if part else None
    if not isinstance(data, dict):
        return [(target, "-", "not measured")]
    ours = data.get("BoxConsolidator[numba]") or data.get("BoxConsolidator[numpy]")
    wbf = data.get("ensemble-boxes WBF")
    if not ours or not wbf:
        return [(target, "ensemble-boxes not run" if ours else "-", "not measured")]
    x = ours["images_per_s"] / wbf["images_per_s"]
    return [(target, f"{x:.1f}x at {data.get('images', '?')} images", _status(x >= BOXES_VS_WBF))]


def _number(row: Row, *names: str) -> float | None:
    value = find(row, *names)
    return float(value) if isinstance(value, (int, float)) else None


def manifests(part: dict[str, Any] | None) -> list[Check]:
    """Throughput (wall clock) and memory of the largest file; memory growth from N/10 to N."""
    rows = records(part.get("data")) if part and part.get("status") == "ok" else []
    rows = sorted(rows, key=lambda r: _number(r, "lines", "n_lines") or 0.0)
    out: list[Check] = []
    bars = {"filter": FILTER_LINES_PER_S, "drop-classes": DROP_CLASSES_LINES_PER_S}
    for name, bar in bars.items():
        target = f"manifests {name} >= {bar / 1e3:.0f}k lines/s"
        mine = [r for r in rows if str(find(r, "variant", "name")) == name]
        rates = [_number(r, "lines_per_s", "lines/s", "lines_per_s_wall") for r in mine]
        rates = [x for x in rates if x is not None]
        if rates:
            out.append((target, f"{rates[-1]:,.0f} lines/s", _status(rates[-1] >= bar)))
        else:
            out.append((target, "-", "not measured"))
    target = "manifests filter streams in flat memory (peak RSS at N vs N/10 lines)"
    filt = [r for r in rows if str(find(r, "variant", "name")) == "filter"]
    peaks = [_number(r, "peak_rss_mib", "max_rss_mib", "peak_mib") for r in filt]
    peaks = [x for x in peaks if x is not None]
    if len(peaks) >= 2:
        growth = peaks[-1] / peaks[0]
        measured = f"{peaks[0]:.0f} -> {peaks[-1]:.0f} MiB ({growth:.2f}x)"
        out.append((target, measured, _status(growth <= FLAT_MEMORY_GROWTH)))
    else:
        out.append((target, "-", "not measured"))
    return out


def accuracy(part: dict[str, Any] | None) -> list[Check]:
    """Issue 6: mean accuracy of the default >= 0.850, never more than 1 point below MV."""
    mean_target = "accuracy: mean of the default over the real data sets >= 0.850"
    gap_target = "accuracy: the default never more than 1 point below MV on a real data set"
    rows = records(part.get("data")) if part and part.get("status") == "ok" else []
    pairs = [(r, find(r, "default"), find(r, "mv", "majority_vote")) for r in rows]
    pairs = [(r, d, m) for r, d, m in pairs if isinstance(d, float) and isinstance(m, float)]
    if not pairs:
        return [(mean_target, "-", "not measured"), (gap_target, "-", "not measured")]
    mean = sum(d for _, d, _ in pairs) / len(pairs)
    mean_mv = sum(m for _, _, m in pairs) / len(pairs)
    worse = [
        f"{find(r, 'dataset', 'name')} ({100 * (d - m):+.2f})" for r, d, m in pairs if d < m - 0.01
    ]
    gap = f"{len(worse)} of {len(pairs)} sets more than 1 point below" + (
        f": {', '.join(worse)}" if worse else ""
    )
    return [
        (
            mean_target,
            f"{mean:.4f} over {len(pairs)} sets (MV {mean_mv:.4f})",
            _status(mean >= 0.85),
        ),
        (gap_target, gap, _status(not worse)),
    ]


def coldstart(part: dict[str, Any] | None) -> list[Check]:
    target = "cold start: `import consolidation` does not import numba"
    rows = _ok_rows(part)
    if not rows:
        return [(target, "-", "not measured")]
    leaks = [r["case"] for r in rows if r["after_import"].get("numba")]
    measured = "numba imported by: " + ", ".join(leaks) if leaks else "not imported (all cases)"
    return [(target, measured, _status(not leaks))]


def evaluate(parts: dict[str, dict[str, Any]]) -> list[Check]:
    """All checks, in report order (parts that were not selected are left out)."""
    checks = {
        "classification": classification,
        "accuracy": accuracy,
        "boxes": boxes,
        "manifests": manifests,
        "coldstart": coldstart,
    }
    return [c for name, fn in checks.items() if name in parts for c in fn(parts[name])]
