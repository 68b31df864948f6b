"""Synthetic bounding-box crowds with known true objects (re-exported as ``simulate.boxes``).

All randomness comes from one ``numpy.random.default_rng(seed)``; generation is vectorised (no
Python loop over items or boxes). Workers draw integer pixel boxes, clipped to the image, as real
workers do. Worker kinds:

========  ======================================================================================
kind      behaviour
========  ======================================================================================
precise   corner jitter ``jitter * U(0.5, 1.5)`` of the box size, base miss and false-positive rates
sloppy    corner jitter ``jitter * U(2.5, 4)``, twice the miss and false-positive rates
confuser  like precise, but gives each box another class with probability ``confusion_rate``
empty     answers every item it is given and draws nothing
========  ======================================================================================

:func:`score_boxes` matches predicted boxes to the truth (mean IoU, precision and recall).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._box_annotations import BoxAnnotations
from ._checks import check_count, check_real
from ._errors import InvalidParameterError
from ._kernels.iou import _ranges, iou_matrix
from ._mix import kind_counts

__all__ = [
    "BOX_KINDS",
    "DEFAULT_BOX_WORKER_MIX",
    "BoxScores",
    "BoxSimulation",
    "boxes",
    "score_boxes",
]

BOX_KINDS = ("precise", "sloppy", "confuser", "empty")
"""Accepted worker kinds, in the (fixed) order in which their parameters are drawn."""

DEFAULT_BOX_WORKER_MIX: Mapping[str, float] = {
    "precise": 0.6,
    "sloppy": 0.25,
    "confuser": 0.1,
    "empty": 0.05,
}
"""Fractions of each worker kind used when ``worker_mix`` is not given."""

_SIZE = (0.05, 0.35)  # object width / height as a fraction of the image's
_JITTER = {"precise": (0.5, 1.5), "sloppy": (2.5, 4.0), "confuser": (0.5, 1.5), "empty": (0.0, 0.0)}


@dataclass(frozen=True, eq=False)
class BoxSimulation:
    """A simulated bounding-box crowd and its truth.

    Attributes
    ----------
    annotations : BoxAnnotations
        The boxes. Item codes and ids are ``0..n_items-1``, worker codes and ids
        ``0..n_workers-1``, class codes and classes ``0..n_classes-1``.
    true_items, true_labels : ndarray of int32, shape (n_objects,)
        Item and class of every true object, grouped by item.
    true_boxes : ndarray of float64, shape (n_objects, 4)
        ``(left, top, width, height)`` of every true object (integer pixels).
    true_offsets : ndarray of int64, shape (n_items + 1,)
        Objects of item ``i`` are rows ``true_offsets[i]:true_offsets[i + 1]``.
    worker_kinds : ndarray of str, shape (n_workers,)
        Kind of each worker (one of :data:`BOX_KINDS`).
    worker_jitter, worker_miss_rate, worker_false_positive_rate, worker_confusion_rate : ndarray
        Per-worker parameters, shape (n_workers,): corner noise (standard deviation as a fraction
        of the box size), probability of missing an object, spurious boxes per true object,
        probability of giving a box another class.
    """

    annotations: BoxAnnotations
    true_items: NDArray[np.int32]
    true_labels: NDArray[np.int32]
    true_boxes: NDArray[np.float64]
    true_offsets: NDArray[np.int64]
    worker_kinds: NDArray[np.str_]
    worker_jitter: NDArray[np.float64]
    worker_miss_rate: NDArray[np.float64]
    worker_false_positive_rate: NDArray[np.float64]
    worker_confusion_rate: NDArray[np.float64]

    def truth(self, item: int) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        """Classes and boxes of the true objects of item ``item``."""
        lo, hi = int(self.true_offsets[item]), int(self.true_offsets[item + 1])
        return self.true_labels[lo:hi], self.true_boxes[lo:hi]


@dataclass(frozen=True)
class BoxScores:
    """Predicted boxes against the truth (see :func:`score_boxes`)."""

    mean_iou: float
    precision: float
    recall: float
    n_true: int
    n_pred: int
    true_positives: int


def _kind_counts(worker_mix: Mapping[str, float] | None, n_workers: int) -> NDArray[np.int64]:
    return kind_counts(worker_mix, n_workers, BOX_KINDS, DEFAULT_BOX_WORKER_MIX)


def _random_boxes(
    rng: np.random.Generator, n: int, width: float, height: float
) -> NDArray[np.float64]:
    size = rng.uniform(*_SIZE, size=(n, 2)) * (width, height)
    w = np.maximum(np.round(size[:, 0]), 2.0)
    h = np.maximum(np.round(size[:, 1]), 2.0)
    left = np.floor(rng.uniform(0.0, 1.0, n) * (width - w + 1))
    top = np.floor(rng.uniform(0.0, 1.0, n) * (height - h + 1))
    return np.column_stack([left, top, w, h])


# --------------------------------------------------------------------------------- simulator
def boxes(
    n_items: int = 100,
    n_workers: int = 5,
    *,
    n_classes: int = 3,
    objects_per_item: float = 5.0,
    workers_per_item: int | None = None,
    image_size: tuple[int, int] = (640, 480),
    worker_mix: Mapping[str, float] | None = None,
    miss_rate: float = 0.1,
    false_positive_rate: float = 0.05,
    jitter: float = 0.03,
    confusion_rate: float = 0.3,
    seed: Any = None,
) -> BoxSimulation:
    """Simulate workers drawing boxes around known objects.

    Parameters
    ----------
    n_items : int, default 100
        Number of images.
    n_workers : int, default 5
        Size of the worker pool.
    n_classes : int, default 3
        Number of object classes.
    objects_per_item : float, default 5.0
        Mean number of true objects per image (Poisson; an image may have none).
    workers_per_item : int, optional
        Workers who answer each image, drawn without replacement from the pool (default: all).
    image_size : (int, int), default (640, 480)
        ``(width, height)`` of every image, in pixels.
    worker_mix : mapping, optional
        Fraction of each kind in :data:`BOX_KINDS` (default :data:`DEFAULT_BOX_WORKER_MIX`); the
        pool is split by largest remainder and shuffled.
    miss_rate : float, default 0.1
        Probability that a precise worker misses an object (doubled for sloppy workers).
    false_positive_rate : float, default 0.05
        Expected spurious boxes per true object of the image, for a precise worker.
    jitter : float, default 0.03
        Scale of the corner noise, as a fraction of the object's width or height.
    confusion_rate : float, default 0.3
        Probability that a confuser gives a box another class.
    seed : int, Generator or None
        Seed of the single random generator.

    Returns
    -------
    BoxSimulation

    Examples
    --------
    >>> sim = boxes(20, 5, worker_mix={"precise": 1.0}, seed=0)
    >>> sim.annotations.n_items, sim.annotations.n_workers, sim.worker_kinds.tolist()[:2]
    (20, 5, ['precise', 'precise'])
    """
    n_items = check_count("n_items", n_items, 1)
    n_workers = check_count("n_workers", n_workers, 1)
    k = check_count("n_classes", n_classes, 1)
    mean_objects = check_real("objects_per_item", objects_per_item, 0.0, 1e6)
    per_item = n_workers if workers_per_item is None else workers_per_item
    per_item = check_count("workers_per_item", per_item, 1)
    if per_item > n_workers:
        raise InvalidParameterError("workers_per_item", per_item, f"an integer in [1, {n_workers}]")
    try:
        width, height = (float(v) for v in image_size)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError("image_size", image_size, "a (width, height) pair") from exc
    if not (width >= 8 and height >= 8 and np.isfinite(width) and np.isfinite(height)):
        raise InvalidParameterError("image_size", image_size, "a (width, height) pair, each >= 8")
    miss = check_real("miss_rate", miss_rate, 0.0, 1.0)
    fp = check_real("false_positive_rate", false_positive_rate, 0.0, 100.0)
    jit = check_real("jitter", jitter, 0.0, 10.0)
    confusion = check_real("confusion_rate", confusion_rate, 0.0, 1.0)
    counts = _kind_counts(worker_mix, n_workers)
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            "seed", seed, "None, a non-negative int or a Generator"
        ) from exc

    # Workers.
    kinds = rng.permutation(np.repeat(np.array(BOX_KINDS), counts))
    w_jitter = np.zeros(n_workers)
    for kind in BOX_KINDS:
        where = np.flatnonzero(kinds == kind)
        w_jitter[where] = jit * rng.uniform(*_JITTER[kind], size=where.size)
    sloppy, empty = kinds == "sloppy", kinds == "empty"
    w_miss = np.where(empty, 1.0, np.where(sloppy, min(1.0, 2.0 * miss), miss))
    w_fp = np.where(empty, 0.0, np.where(sloppy, 2.0 * fp, fp))
    w_conf = np.where(kinds == "confuser", confusion if k > 1 else 0.0, 0.0)

    # True objects.
    n_obj = rng.poisson(mean_objects, size=n_items).astype(np.int64)
    t_offsets = np.r_[0, np.cumsum(n_obj)].astype(np.int64)
    t_items = np.repeat(np.arange(n_items, dtype=np.int32), n_obj)
    t_labels = rng.integers(0, k, size=t_items.size).astype(np.int32)
    t_boxes = _random_boxes(rng, t_items.size, width, height)

    # Who answers what: (item, worker) pairs, sorted by item then worker.
    if per_item == n_workers:
        chosen = np.tile(np.arange(n_workers), (n_items, 1))
    else:
        chosen = np.sort(np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :per_item], axis=1)
    a_items = np.repeat(np.arange(n_items, dtype=np.int32), per_item)
    a_workers = chosen.reshape(-1).astype(np.int32)

    # Each answer x each true object of its item: kept, jittered, maybe relabelled.
    obj, pair = _ranges(t_offsets[a_items], t_offsets[a_items + 1])
    wk = a_workers[pair]
    keep = rng.random(obj.size) >= w_miss[wk]
    obj, pair, wk = obj[keep], pair[keep], wk[keep]
    tb = t_boxes[obj]
    sigma = w_jitter[wk][:, None] * np.column_stack([tb[:, 2], tb[:, 3], tb[:, 2], tb[:, 3]])
    corners = (
        np.column_stack([tb[:, :2], tb[:, :2] + tb[:, 2:]]) + rng.normal(size=sigma.shape) * sigma
    )
    labels = t_labels[obj].copy()
    flip = rng.random(obj.size) < w_conf[wk]
    labels[flip] = (labels[flip] + rng.integers(1, max(k, 2), size=int(flip.sum()))) % k
    # Spurious boxes: Poisson(rate x objects of the image) per answer.
    n_fp = rng.poisson(w_fp[a_workers] * n_obj[a_items])
    fp_pair = np.repeat(np.arange(a_items.size), n_fp)
    fp_boxes = _random_boxes(rng, fp_pair.size, width, height)
    fp_corners = np.column_stack([fp_boxes[:, :2], fp_boxes[:, :2] + fp_boxes[:, 2:]])
    fp_labels = rng.integers(0, k, size=fp_pair.size).astype(np.int32)

    pairs = np.r_[pair, fp_pair]
    order = np.argsort(pairs, kind="stable")
    corners = np.round(np.r_[corners, fp_corners][order])
    x1 = np.clip(corners[:, 0], 0, width - 1)
    y1 = np.clip(corners[:, 1], 0, height - 1)
    x2 = np.clip(np.maximum(corners[:, 2], x1 + 1), 0, width)
    y2 = np.clip(np.maximum(corners[:, 3], y1 + 1), 0, height)
    pairs = pairs[order]
    ann = BoxAnnotations(
        items=a_items[pairs],
        workers=a_workers[pairs],
        labels=np.r_[labels, fp_labels][order].astype(np.int32),
        boxes=np.column_stack([x1, y1, x2 - x1, y2 - y1]),
        answered_items=a_items,
        answered_workers=a_workers,
        item_ids=np.arange(n_items),
        worker_ids=np.arange(n_workers),
        classes=np.arange(k),
        image_sizes=np.tile([width, height], (n_items, 1)),
    )
    return BoxSimulation(
        ann, t_items, t_labels, t_boxes, t_offsets, kinds, w_jitter, w_miss, w_fp, w_conf
    )


# ----------------------------------------------------------------------------------- scoring
def score_boxes(
    pred_items: ArrayLike,
    pred_labels: ArrayLike,
    pred_boxes: ArrayLike,
    true_items: ArrayLike,
    true_labels: ArrayLike,
    true_boxes: ArrayLike,
    *,
    iou_threshold: float = 0.5,
    items: Sequence[int] | None = None,
) -> BoxScores:
    """Match predicted boxes to true boxes per image and class and score them.

    Within each (image, class), predictions and true boxes are paired one to one by maximum total
    IoU (:func:`scipy.optimize.linear_sum_assignment`).

    Parameters
    ----------
    pred_items, pred_labels : array_like of int, shape (n_pred,)
        Item and class codes of the predictions.
    pred_boxes : array_like, shape (n_pred, 4)
        ``(left, top, width, height)``.
    true_items, true_labels, true_boxes : array_like
        The same for the true objects.
    iou_threshold : float, default 0.5
        A pair with at least this IoU is a true positive.
    items : sequence of int, optional
        Score only these items (e.g. the items a given worker answered).

    Returns
    -------
    BoxScores
        ``mean_iou``: mean over the true objects of the IoU with their matched prediction (0 when
        unmatched); ``precision`` = true positives / predictions; ``recall`` = true positives /
        true objects.

    Examples
    --------
    >>> truth = [[0, 0, 10, 10], [50, 50, 5, 5]]
    >>> s = score_boxes([0], [1], [[0, 0, 10, 10]], [0, 0], [1, 1], truth)
    >>> s.mean_iou, s.precision, s.recall
    (0.5, 1.0, 0.5)
    """
    from scipy.optimize import linear_sum_assignment

    pi, pl = np.asarray(pred_items, np.int64), np.asarray(pred_labels, np.int64)
    ti, tl = np.asarray(true_items, np.int64), np.asarray(true_labels, np.int64)
    pb = np.asarray(pred_boxes, np.float64).reshape(-1, 4)
    tb = np.asarray(true_boxes, np.float64).reshape(-1, 4)
    if items is not None:
        wanted = np.asarray(items, np.int64)
        pm, tm = np.isin(pi, wanted), np.isin(ti, wanted)
        pi, pl, pb, ti, tl, tb = pi[pm], pl[pm], pb[pm], ti[tm], tl[tm], tb[tm]
    n_classes = int(max(pl.max(initial=0), tl.max(initial=0))) + 1
    p_key, t_key = pi * n_classes + pl, ti * n_classes + tl
    p_order, t_order = np.argsort(p_key, kind="stable"), np.argsort(t_key, kind="stable")
    p_key, t_key = p_key[p_order], t_key[t_order]
    pb, tb = pb[p_order], tb[t_order]
    keys = np.intersect1d(p_key, t_key)
    p_lo, p_hi = np.searchsorted(p_key, keys), np.searchsorted(p_key, keys, side="right")
    t_lo, t_hi = np.searchsorted(t_key, keys), np.searchsorted(t_key, keys, side="right")
    iou_total, tp = 0.0, 0
    for a, b, c, d in zip(p_lo.tolist(), p_hi.tolist(), t_lo.tolist(), t_hi.tolist(), strict=True):
        m = iou_matrix(pb[a:b], tb[c:d], "numpy")
        rows, cols = linear_sum_assignment(m, maximize=True)
        matched = m[rows, cols]
        iou_total += float(matched.sum())
        tp += int((matched >= iou_threshold).sum())
    n_true, n_pred = int(tb.shape[0]), int(pb.shape[0])
    return BoxScores(
        mean_iou=iou_total / n_true if n_true else 0.0,
        precision=tp / n_pred if n_pred else 0.0,
        recall=tp / n_true if n_true else 0.0,
        n_true=n_true,
        n_pred=n_pred,
        true_positives=tp,
    )
