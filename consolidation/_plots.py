"""Confusion-matrix figures for worker reports; matplotlib is imported here only, lazily."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .quality import WorkerReport

__all__ = ["draw_confusions"]

_INSTALL = "plotting needs matplotlib, which is not installed: pip install 'gt-consolidation[plot]'"


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def draw_confusions(report: WorkerReport, path: str, *, max_workers: int = 16) -> None:
    """Write a grid of heat maps, one per worker (most answers first), to ``path`` (PNG)."""
    plt = _pyplot()
    rows = sorted(
        (r for r in report if r.confusion is not None),
        key=lambda r: (-r.n_answers, str(r.worker_id)),
    )[: max(1, int(max_workers))]
    k = len(report.classes)
    names = [str(c) for c in report.classes]
    cols = min(4, len(rows))
    lines = math.ceil(len(rows) / cols)
    size = 2.2 + 0.25 * k
    fig, axes = plt.subplots(lines, cols, figsize=(size * cols, size * lines), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, row in zip(axes.ravel(), rows, strict=False):
        ax.set_axis_on()
        mat = np.asarray(row.confusion)
        ax.imshow(mat, vmin=0.0, vmax=1.0, cmap="Blues")
        if k <= 8:
            for t in range(k):
                for j in range(k):
                    colour = "white" if mat[t, j] > 0.6 else "black"
                    ax.text(j, t, f"{mat[t, j]:.2f}", ha="center", va="center", fontsize=7,
                            color=colour)  # fmt: skip
        ax.set_xticks(range(k), names if k <= 10 else [], fontsize=7, rotation=90)
        ax.set_yticks(range(k), names if k <= 10 else [], fontsize=7)
        ax.set_xlabel("answered", fontsize=7)
        ax.set_ylabel("true", fontsize=7)
        flags = f" [{', '.join(row.flags)}]" if row.flags else ""
        ax.set_title(
            f"{row.worker_id}: n={row.n_answers}, acc={row.accuracy:.2f}{flags}", fontsize=8
        )
    fig.suptitle(f"Worker confusion matrices ({report.method})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
