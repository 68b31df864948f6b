"""Bounding-box consolidation speed and quality: BoxConsolidator next to ensemble-boxes' WBF.

Both consolidate the same simulated crowd (default 10k images x 5 workers x ~5 objects, ~250k
boxes; integer pixel boxes with jitter, 10 % misses, 5 % false positives, some class confusion).
ensemble-boxes (``pip install ensemble-boxes``, the ``bench`` extra) gets each worker as one
"model" with scores 1.0 and coordinates normalised to [0, 1] per image, ``iou_thr`` equal to ours;
preparing its per-image lists is not timed. Our timing is ``fit`` on ready ``BoxAnnotations`` (the
id encoding by ``BoxAnnotations.from_arrays`` is timed separately); numba is compiled before timing.

Quality uses one matching for all: per image and class, Hungarian on IoU against the true objects;
mean IoU over true objects (0 when unmatched), precision and recall at IoU 0.5.

Run ``python -m benchmarks.bench_boxes`` (``--images 1000`` for a quick look; ``--json PATH``
keeps the numbers).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from consolidation import BoxAnnotations, BoxConsolidator
from consolidation._kernels import numba_available
from consolidation._simulate_boxes import BoxScores, BoxSimulation, boxes, score_boxes


def _best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _score(sim: BoxSimulation, items: Any, labels: Any, xywh: Any, tau: float) -> BoxScores:
    return score_boxes(
        items, labels, xywh, sim.true_items, sim.true_labels, sim.true_boxes, iou_threshold=tau
    )


def _wbf_inputs(sim: BoxSimulation) -> list[tuple[list[Any], list[Any], list[Any], float, float]]:
    """Per image: boxes, scores and labels per worker (empty for workers who drew nothing)."""
    ann = sim.annotations
    order = np.lexsort((ann.workers, ann.items))
    items, workers = ann.items[order], ann.workers[order]
    xyxy = ann.boxes[order].copy()
    xyxy[:, 2:] += xyxy[:, :2]
    labels = ann.labels[order]
    item_lo = np.searchsorted(items, np.arange(ann.n_items))
    item_hi = np.searchsorted(items, np.arange(ann.n_items), side="right")
    a_lo = np.searchsorted(ann.answered_items, np.arange(ann.n_items))
    a_hi = np.searchsorted(ann.answered_items, np.arange(ann.n_items), side="right")
    out = []
    for i in range(ann.n_items):
        width, height = ann.image_sizes[i]
        scale = np.array([width, height, width, height])
        lo, hi = int(item_lo[i]), int(item_hi[i])
        bl, sl, ll = [], [], []
        for w in ann.answered_workers[a_lo[i] : a_hi[i]].tolist():
            sel = slice(lo + int(np.searchsorted(workers[lo:hi], w)),
                        lo + int(np.searchsorted(workers[lo:hi], w, side="right")))  # fmt: skip
            bl.append(xyxy[sel] / scale)
            sl.append(np.ones(sel.stop - sel.start))
            ll.append(labels[sel])
        out.append((bl, sl, ll, float(width), float(height)))
    return out


def run_wbf(inputs: list[Any], tau: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run weighted_boxes_fusion image by image; return item, label and xywh (pixels) arrays."""
    from ensemble_boxes import weighted_boxes_fusion

    items, labels, xywh = [], [], []
    for i, (bl, sl, ll, width, height) in enumerate(inputs):
        if not any(len(b) for b in bl):
            continue
        fb, _, fl = weighted_boxes_fusion(bl, sl, ll, iou_thr=tau, skip_box_thr=0.0)
        fb = fb * [width, height, width, height]
        items.append(np.full(len(fb), i))
        labels.append(fl.astype(np.int64))
        xywh.append(np.column_stack([fb[:, :2], fb[:, 2:] - fb[:, :2]]))
    return np.concatenate(items), np.concatenate(labels), np.concatenate(xywh)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--objects", type=float, default=5.0, help="mean true objects per image")
    parser.add_argument("--iou", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for our runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the numbers to this file")
    args = parser.parse_args(argv)

    sim = boxes(
        args.images, args.workers, objects_per_item=args.objects, miss_rate=0.1,
        false_positive_rate=0.05, jitter=0.03, seed=args.seed,
    )  # fmt: skip
    ann = sim.annotations
    n = ann.n_items
    print(
        f"data: {n} images, {args.workers} workers ({', '.join(sim.worker_kinds.tolist())}), "
        f"{ann.n_boxes} boxes, {sim.true_items.size} true objects, IoU threshold {args.iou}"
    )
    rows: dict[str, Any] = {"images": n, "boxes": ann.n_boxes, "workers": args.workers}

    item_ids = np.array([f"img{i:06d}" for i in range(n)])
    worker_ids = np.array([f"worker-{w}" for w in range(ann.n_workers)])
    t_encode, _ = _best_of(
        lambda: BoxAnnotations.from_arrays(
            item_ids[ann.items], worker_ids[ann.workers], ann.labels, ann.boxes,
            answered_items=item_ids[ann.answered_items],
            answered_workers=worker_ids[ann.answered_workers],
        ),
        args.repeat,
    )  # fmt: skip
    print(f"BoxAnnotations.from_arrays (string ids): {t_encode:.3f} s")
    rows["encode_s"] = t_encode

    table = []
    backends = ["numba", "numpy"] if numba_available() else ["numpy"]
    for backend in backends:
        model = BoxConsolidator(iou_threshold=args.iou, backend=backend)
        model.fit(ann)  # compile / warm up
        seconds, _ = _best_of(partial(model.fit, ann), args.repeat)
        out = model.boxes_
        xywh = np.column_stack([out[c] for c in ("left", "top", "width", "height")])
        s = _score(sim, out["item"], out["label"], xywh, args.iou)
        table.append((f"BoxConsolidator[{backend}]", seconds, s, int(out.size)))
    # Same run with single-worker boxes dropped (the service keeps them; precision rises).
    voted = BoxConsolidator(iou_threshold=args.iou, min_votes=2, backend=backends[0])
    seconds, _ = _best_of(partial(voted.fit, ann), args.repeat)
    out = voted.boxes_
    xywh = np.column_stack([out[c] for c in ("left", "top", "width", "height")])
    s = _score(sim, out["item"], out["label"], xywh, args.iou)
    table.append((f"  ... min_votes=2 [{backends[0]}]", seconds, s, int(out.size)))

    try:
        import ensemble_boxes  # noqa: F401
    except ImportError:
        print("ensemble-boxes is not installed (pip install ensemble-boxes): WBF skipped")
    else:
        inputs = _wbf_inputs(sim)
        seconds, (wi, wl, wb) = _best_of(lambda: run_wbf(inputs, args.iou), 1)
        table.append(("ensemble-boxes WBF", seconds, _score(sim, wi, wl, wb, args.iou), len(wi)))

    singles = []
    for w in range(ann.n_workers):
        mine = ann.workers == w
        if sim.worker_kinds[w] != "empty":
            singles.append(
                _score(sim, ann.items[mine], ann.labels[mine], ann.boxes[mine], args.iou)
            )

    wbf_seconds = next((t for name, t, _, _ in table if name.startswith("ensemble")), None)
    print()
    print(f"{'method':<28}{'seconds':>9}{'images/s':>11}{'vs WBF':>8}"
          f"{'mean IoU':>10}{'precision':>11}{'recall':>8}{'boxes':>9}")  # fmt: skip
    for name, seconds, s, count in table:
        ratio = f"{wbf_seconds / seconds:.1f}x" if wbf_seconds else "-"
        print(
            f"{name:<28}{seconds:>9.3f}{n / seconds:>11.0f}{ratio:>8}"
            f"{s.mean_iou:>10.3f}{s.precision:>11.3f}{s.recall:>8.3f}{count:>9}"
        )
        rows[name] = {
            "seconds": seconds, "images_per_s": n / seconds, "mean_iou": s.mean_iou,
            "precision": s.precision, "recall": s.recall, "boxes": count,
        }  # fmt: skip
    mean_single = float(np.mean([s.mean_iou for s in singles]))
    best_single = float(np.max([s.mean_iou for s in singles]))
    print(
        f"{'single worker (mean/best)':<28}{'':>9}{'':>11}{'':>8}"
        f"{mean_single:>10.3f}  best {best_single:.3f}"
    )
    rows["single_worker_mean_iou"] = mean_single
    rows["single_worker_best_iou"] = best_single
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return rows


if __name__ == "__main__":
    main()
