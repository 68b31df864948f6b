"""PNG plots of one run (matplotlib is optional and imported only here, only when plotting)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks._records import find, records
from benchmarks._report import METHODS

ACCURACY_METHODS = ("mv", "ds", "mds", "default")


def _classification(plt: Any, part: dict[str, Any], path: Path) -> bool:
    rows = [r for r in part["data"] if "error" not in r and r["method"] != "minimal"]
    ks = sorted({r["k"] for r in rows})
    if not rows:
        return False
    fig, axes = plt.subplots(
        1, len(ks), figsize=(5 * len(ks) + 2.5, 4.5), sharey=True, squeeze=False
    )
    for ax, k in zip(axes[0], ks, strict=True):
        lines: dict[str, list[tuple[int, float]]] = {}
        for r in rows:
            if r["k"] == k:
                label = METHODS[r["method"]].replace(" (ours)", "")
                if not r["method"].startswith("ck-"):
                    label += f" ({r['backend']})"
                lines.setdefault(label, []).append((r["n_answers"], r["seconds"]))
        for label, points in sorted(lines.items()):
            xs, ys = zip(*sorted(points), strict=True)
            style = "--" if label.startswith("crowd-kit") else "-"
            ax.plot(xs, ys, style, marker="o", label=label)
        ax.set(xscale="log", yscale="log", xlabel="answers", title=f"K = {k}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("fit seconds (best of N)")
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle("Classification fit time (log-log)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def _accuracy(plt: Any, part: dict[str, Any], path: Path) -> bool:
    rows = records(part["data"])
    names = [str(find(r, "dataset", "name")) for r in rows]
    series = {m: [find(r, m) for r in rows] for m in ACCURACY_METHODS}
    series = {m: v for m, v in series.items() if all(isinstance(x, (int, float)) for x in v)}
    if not rows or not series:
        return False
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(rows) * len(series) / 2), 4.5))
    width = 0.8 / len(series)
    for j, (method, values) in enumerate(series.items()):
        ax.bar([i + j * width for i in range(len(rows))], values, width, label=method.upper())
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(rows))], names, rotation=60, ha="right")
    ax.set(ylabel="accuracy", ylim=(0, 1), title="Accuracy on real data sets")
    ax.legend(fontsize=8, ncols=len(series))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def _boxes(plt: Any, part: dict[str, Any], path: Path) -> bool:
    methods = {k.strip(): v for k, v in part["data"].items() if isinstance(v, dict)}
    if not methods:
        return False
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(methods) + 1.5))
    ax.barh(list(methods), [v["images_per_s"] for v in methods.values()])
    ax.invert_yaxis()
    ax.set(xscale="log", xlabel="images/s (log)", title="Box consolidation throughput")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def _coldstart(plt: Any, part: dict[str, Any], path: Path) -> bool:
    rows = [r for r in part["data"] if "error" not in r]
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.5))
    cases = [r["case"] for r in rows]
    imports = [r["import_s"] for r in rows]
    ax.barh(cases, imports, label="import")
    ax.barh(cases, [r["first_fit_s"] for r in rows], left=imports, label="first fit")
    ax.invert_yaxis()
    ax.set(xlabel="seconds", title="Cold start: import + first consolidation of 1k answers")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


PLOTS = {
    "classification": ("classification_scaling.png", _classification),
    "accuracy": ("accuracy.png", _accuracy),
    "boxes": ("boxes.png", _boxes),
    "coldstart": ("coldstart.png", _coldstart),
}


def draw(parts: dict[str, dict[str, Any]], folder: Path) -> tuple[dict[str, Path], str | None]:
    """Draw the plots of the parts that ran into ``folder``; return their paths and a note.

    The note says why plots are missing (matplotlib not installed, a plot that failed).
    """
    try:
        import matplotlib
    except ImportError:
        return {}, "skipped: matplotlib is not installed (`pip install -e '.[bench]'`)"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn, failed = {}, []
    for name, (filename, plot) in PLOTS.items():
        part = parts.get(name)
        if not part or not part.get("data"):
            continue
        try:
            if plot(plt, part, folder / filename):
                drawn[name] = folder / filename
        except (KeyError, TypeError, ValueError) as exc:  # an unexpected JSON shape
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
        finally:
            plt.close("all")
    return drawn, ("could not draw " + ", ".join(failed)) if failed else None
