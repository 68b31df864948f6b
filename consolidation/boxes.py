"""Bounding-box consolidation: match boxes across workers by IoU, fuse them, score each fused box.

The algorithm is the reference of ``reference/groundtruth.md`` section 2.5, made order independent;
see :class:`BoxConsolidator`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from ._box_annotations import BoxAnnotations
from ._checks import check_count, check_real
from ._errors import AnnotationError, InvalidParameterError, NotFittedError
from ._kernels._backend import resolve_backend
from ._kernels.iou import _ranges, cluster_boxes, paired_iou_kernel, segment_sort
from ._params import Params

__all__ = ["BOX_DTYPE", "BoxConsolidator", "BoxMembers", "as_box_annotations"]

#: Fields of :attr:`BoxConsolidator.boxes_`, one record per fused box.
BOX_DTYPE = np.dtype(
    [
        ("item", np.int32),
        ("label", np.int32),
        ("left", np.float64),
        ("top", np.float64),
        ("width", np.float64),
        ("height", np.float64),
        ("confidence", np.float64),
        ("support", np.int32),
    ]
)
_FUSIONS = ("mean", "median")


def as_box_annotations(
    data: Any,
    answered: Any = None,
    image_sizes: Any = None,
    classes: Any = None,
) -> BoxAnnotations:
    """Accept :class:`BoxAnnotations`, box rows, or a DataFrame with the same columns.

    Rows are ``(item, worker, label, left, top, width, height)``; a DataFrame may name the item
    column ``task``.

    Parameters
    ----------
    data : BoxAnnotations, iterable of 7-tuples, or DataFrame
        The boxes.
    answered, image_sizes, classes : optional
        As for :meth:`BoxAnnotations.from_records`; only when ``data`` still has to be encoded.

    Returns
    -------
    BoxAnnotations
    """
    if isinstance(data, BoxAnnotations):
        for name, value in (
            ("answered", answered),
            ("image_sizes", image_sizes),
            ("classes", classes),
        ):
            if value is not None:
                raise InvalidParameterError(
                    name, value, "None when fitting BoxAnnotations (they are already encoded)"
                )
        return data
    if isinstance(data, str | bytes):
        raise AnnotationError("expected box annotations, rows or a DataFrame, got a string")
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):
        columns = list(data.columns)
        item_col = "task" if "task" in columns else "item"
        wanted = [item_col, "worker", "label", "left", "top", "width", "height"]
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise AnnotationError(f"DataFrame lacks columns {missing}; it has {columns}")
        pairs = list(answered) if answered is not None else []
        return BoxAnnotations.from_arrays(
            data[item_col].to_numpy(),
            data["worker"].to_numpy(),
            data["label"].to_numpy(),
            data[["left", "top", "width", "height"]].to_numpy(),  # checked, named, converted there
            answered_items=[p[0] for p in pairs],
            answered_workers=[p[1] for p in pairs],
            image_sizes=image_sizes,
            classes=classes,
        )
    return BoxAnnotations.from_records(data, answered, image_sizes, classes)


@dataclass(frozen=True, eq=False)
class BoxMembers(Sequence[list[tuple[Any, int]]]):
    """The worker boxes that formed each fused box: ``members[k]`` = ``[(worker_id, row), ...]``.

    ``row`` indexes the boxes of the fitted :class:`BoxAnnotations` (its input row order). Members
    are listed in the canonical worker order. The flat arrays are available as attributes.

    Attributes
    ----------
    offsets : ndarray of int64, shape (n_fused + 1,)
        Members of fused box ``k`` are entries ``offsets[k]:offsets[k + 1]`` of the arrays below.
    rows : ndarray of int64
        Box row of each member.
    workers : ndarray of int32
        Worker code of each member.
    ious : ndarray of float64
        IoU of each member with its (clipped) fused box.
    worker_ids : ndarray
        Worker ids, to decode ``workers``.
    """

    offsets: NDArray[np.int64]
    rows: NDArray[np.int64]
    workers: NDArray[np.int32]
    ious: NDArray[np.float64]
    worker_ids: NDArray[Any]

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    @overload
    def __getitem__(self, index: int) -> list[tuple[Any, int]]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[tuple[Any, int]]]: ...

    def __getitem__(
        self, index: int | slice
    ) -> list[tuple[Any, int]] | list[list[tuple[Any, int]]]:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        k = range(len(self))[index]
        lo, hi = int(self.offsets[k]), int(self.offsets[k + 1])
        workers = self.worker_ids[self.workers[lo:hi]].tolist()
        return list(zip(workers, self.rows[lo:hi].tolist(), strict=True))


class BoxConsolidator(Params):
    """Consolidate bounding boxes: per image and class, match, fuse and score (reference 2.5).

    Algorithm, per image (item) and per class -- boxes of different classes never merge:

    1. **Canonical order.** Workers are visited in the order of their ids' values (worker codes of
       :class:`BoxAnnotations` are sorted by id), and each worker's boxes in the order of
       ``(left, top, width, height)``. Nothing depends on the order in which answers, workers or
       items are given; only the output order of items follows the input.
    2. **Matching.** The first worker's boxes seed one cluster each. Each next worker's boxes are
       assigned to the current fused boxes, at most one box per cluster and one cluster per box,
       maximising the total IoU over the pairs with IoU >= ``iou_threshold`` (pairs below the
       threshold are forbidden rather than merely rejected afterwards; the comparison allows a
       relative 1e-9 for rounding, so that ``iou_threshold=1`` merges identical boxes). When
       every box has at most one candidate cluster and every cluster at most one candidate box
       the assignment is that matching; otherwise :func:`scipy.optimize.linear_sum_assignment`
       solves it. Unassigned boxes start new clusters; the fused boxes are then updated.
    3. **Fusion.** Coordinate-wise mean (``fusion="mean"``, the service's behaviour) or median of
       the members' ``(left, top, width, height)``; no rounding. When the image size is known the
       fused box is clipped to the image.
    4. **Confidence** (our definition): sum over the members of their IoU with the fused box
       (members clipped to the image as the fused box is), divided by W, the number of workers who
       answered the item (including those who drew nothing); 0.0 when W = 1. It lies in [0, 1]
       and equals 1 only when all W workers drew the same box (inside the image, when its size
       is known). It is stored unrounded;
       ``max_confidence`` caps it.
    5. Clusters with fewer than ``min_votes`` members are dropped. A box of zero area (drawn so,
       or entirely outside the image once clipped) matches nothing, its IoU with any box being 0:
       it is kept as its own cluster, with confidence 0.

    Parameters
    ----------
    iou_threshold : float, default 0.5
        Minimum IoU for a box to join a cluster; in (0, 1].
    min_votes : int, default 1
        Minimum number of member boxes of a kept fused box (1 keeps single-worker boxes, as the
        service does).
    fusion : {"mean", "median"}, default "mean"
        How member boxes are combined.
    max_confidence : float, optional
        Upper bound of the confidence, in [0, 1].
    backend : {"auto", "numba", "numpy"}, default "auto"
        Kernel implementation; both give identical results.

    Attributes
    ----------
    boxes_ : ndarray of :data:`BOX_DTYPE`, shape (n_fused,)
        Fused boxes: item code, class code, left, top, width, height, confidence, support
        (members). Sorted by item code (input order), then descending confidence, then
        ``(top, left)``.
    item_offsets_ : ndarray of int64, shape (n_items + 1,)
        Boxes of item code ``i`` are ``boxes_[item_offsets_[i]:item_offsets_[i + 1]]``.
    members_ : BoxMembers
        ``members_[k]`` lists the ``(worker_id, box_row)`` pairs that formed ``boxes_[k]``.
    item_ids_, worker_ids_, classes_ : ndarray
        Ids to decode codes (from the fitted :class:`BoxAnnotations`).
    workers_per_item_ : ndarray of int64, shape (n_items,)
        W, the confidence denominator of each item.

    Examples
    --------
    The worked example of reference 2.5 (three workers, one class):

    >>> rows = [("img", "w1", "bird", 10, 10, 40, 40), ("img", "w1", "bird", 60, 60, 20, 20),
    ...         ("img", "w2", "bird", 12, 8, 40, 44),
    ...         ("img", "w3", "bird", 8, 12, 44, 40), ("img", "w3", "bird", 70, 5, 10, 10)]
    >>> model = BoxConsolidator().fit(rows, image_sizes={"img": (100, 100)})
    >>> for item, label, left, top, width, height, conf, support in model.results():
    ...     print(item, label, left, top, round(width, 4), height == width, round(conf, 2), support)
    img bird 10.0 10.0 41.3333 True 0.9 3
    img bird 70.0 5.0 10.0 True 0.33 1
    img bird 60.0 60.0 20.0 True 0.33 1
    >>> model.members_[0]
    [('w1', 0), ('w2', 2), ('w3', 3)]
    """

    boxes_: NDArray[np.void]
    item_offsets_: NDArray[np.int64]
    members_: BoxMembers
    item_ids_: NDArray[Any]
    worker_ids_: NDArray[Any]
    classes_: NDArray[Any]
    workers_per_item_: NDArray[np.int64]

    def __init__(
        self,
        *,
        iou_threshold: float = 0.5,
        min_votes: int = 1,
        fusion: str = "mean",
        max_confidence: float | None = None,
        backend: str = "auto",
    ) -> None:
        self.iou_threshold = iou_threshold
        self.min_votes = min_votes
        self.fusion = fusion
        self.max_confidence = max_confidence
        self.backend = backend

    def _check_params(self) -> None:
        check_real("iou_threshold", self.iou_threshold, 0.0, 1.0, low_open=True)
        check_count("min_votes", self.min_votes, 1)
        if self.fusion not in _FUSIONS:
            raise InvalidParameterError("fusion", self.fusion, "one of 'mean', 'median'")
        if self.max_confidence is not None:
            check_real("max_confidence", self.max_confidence, 0.0, 1.0)

    def fit(
        self,
        annotations: Any,
        *,
        answered: Any = None,
        image_sizes: Any = None,
        classes: Any = None,
    ) -> BoxConsolidator:
        """Consolidate the boxes and return ``self``.

        Parameters
        ----------
        annotations : BoxAnnotations, iterable of rows, or DataFrame
            Rows are ``(item, worker, label, left, top, width, height)``.
        answered, image_sizes, classes : optional
            Passed to :meth:`BoxAnnotations.from_records` when ``annotations`` are rows.

        Returns
        -------
        BoxConsolidator
            ``self``, fitted.

        Raises
        ------
        InvalidParameterError
            If a constructor parameter has a value that is not allowed.
        AnnotationError
            If the boxes are malformed (the message names the item and worker).
        """
        self._check_params()
        backend = resolve_backend(self.backend)
        ann = as_box_annotations(annotations, answered, image_sizes, classes)
        tau = float(self.iou_threshold)
        n = ann.n_boxes

        # Canonical order: item, class, worker (codes sorted by id), then left, top, width, height.
        n_classes, n_workers = max(ann.n_classes, 1), max(ann.n_workers, 1)
        key = (ann.items.astype(np.int64) * n_classes + ann.labels) * n_workers + ann.workers
        perm = np.argsort(key, kind="stable")
        key = key[perm]
        new_run = np.r_[True, key[1:] != key[:-1]] if n else np.zeros(0, dtype=bool)
        run_heads = np.r_[np.flatnonzero(new_run), n].astype(np.int64)
        segment_sort(run_heads, np.ascontiguousarray(ann.boxes, np.float64), perm, backend)
        items, labels, workers = ann.items[perm], ann.labels[perm], ann.workers[perm]
        coords = np.ascontiguousarray(ann.boxes[perm])
        run_end = run_heads[1:][np.cumsum(new_run) - 1]
        gkey = key // n_workers
        new_group = np.r_[True, gkey[1:] != gkey[:-1]] if n else np.zeros(0, dtype=bool)
        starts = np.r_[np.flatnonzero(new_group), n].astype(np.int64)

        local, fused, counts, ncl = cluster_boxes(
            starts, run_end, coords, tau, self.fusion == "median", backend
        )

        # One record per cluster: slot = starts[group] + local index.
        n_groups = starts.size - 1
        group_of_box = np.repeat(np.arange(n_groups, dtype=np.int64), np.diff(starts))
        slot_of_box = starts[group_of_box] + local
        cl_slot, cl_group = _ranges(starts[:-1], starts[:-1] + ncl)
        cl_local = cl_slot - starts[cl_group]
        cl_item, cl_label = items[starts[cl_group]], labels[starts[cl_group]]
        fused[cl_slot] = _clip(fused[cl_slot], ann.image_sizes[cl_item])

        # Members are clipped as their fused box is: identical boxes past the border agree fully.
        clipped = _clip(coords, ann.image_sizes[items])
        member_iou = paired_iou_kernel(clipped, fused[slot_of_box], backend)
        iou_sum = np.bincount(slot_of_box, weights=member_iou, minlength=n)[cl_slot]
        per_item = ann.workers_per_item
        w = per_item[cl_item].astype(np.float64)
        conf = np.zeros(cl_slot.size, dtype=np.float64)
        np.divide(iou_sum, w, out=conf, where=w > 1)
        np.clip(conf, 0.0, 1.0, out=conf)
        if self.max_confidence is not None:
            np.minimum(conf, float(self.max_confidence), out=conf)
        support = counts[cl_slot]

        # Output order: item (input order), then descending confidence, then (top, left); the
        # remaining keys only make the order total. Clusters are already grouped by item.
        keep = np.flatnonzero(support >= self.min_votes)
        kept_items = cl_item[keep]
        box = fused[cl_slot[keep]]
        sort_keys = np.column_stack(
            [
                -conf[keep],
                box[:, 1],
                box[:, 0],
                cl_label[keep],
                box[:, 2],
                box[:, 3],
                cl_local[keep],
            ]
        ).astype(np.float64)
        item_heads = np.r_[True, kept_items[1:] != kept_items[:-1]] if keep.size else keep > 0
        by_item = np.r_[np.flatnonzero(item_heads), keep.size].astype(np.int64)
        order = np.arange(keep.size, dtype=np.int64)
        segment_sort(by_item, sort_keys, order, backend)
        order = keep[order]
        out = np.empty(order.size, dtype=BOX_DTYPE)
        out["item"], out["label"] = cl_item[order], cl_label[order]
        for d, name in enumerate(("left", "top", "width", "height")):
            out[name] = fused[cl_slot[order], d]
        out["confidence"], out["support"] = conf[order], support[order]

        out_pos = np.full(n, -1, dtype=np.int64)
        out_pos[cl_slot[order]] = np.arange(order.size)
        box_pos = out_pos[slot_of_box]
        kept_boxes = np.flatnonzero(box_pos >= 0)  # canonical order = worker order per cluster
        kept_boxes = kept_boxes[np.argsort(box_pos[kept_boxes], kind="stable")]
        offsets = np.zeros(order.size + 1, dtype=np.int64)
        np.cumsum(support[order], out=offsets[1:])

        self.item_ids_ = ann.item_ids
        self.worker_ids_ = ann.worker_ids
        self.classes_ = ann.classes
        self.workers_per_item_ = per_item
        self.boxes_ = out
        self.item_offsets_ = np.searchsorted(
            out["item"], np.arange(ann.n_items + 1), side="left"
        ).astype(np.int64)
        self.members_ = BoxMembers(
            offsets=offsets,
            rows=perm[kept_boxes].astype(np.int64),
            workers=workers[kept_boxes],
            ious=member_iou[kept_boxes],
            worker_ids=ann.worker_ids,
        )
        return self

    def results(self) -> Iterator[tuple[Any, Any, float, float, float, float, float, int]]:
        """Yield ``(item_id, label, left, top, width, height, confidence, support)`` per fused box.

        Items come in input order (items without boxes yield nothing), boxes by descending
        confidence, ties by ``(top, left)``.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        """
        if not hasattr(self, "boxes_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(annotations) first"
            )
        out = self.boxes_
        yield from zip(
            self.item_ids_[out["item"]].tolist(),
            self.classes_[out["label"]].tolist(),
            out["left"].tolist(),
            out["top"].tolist(),
            out["width"].tolist(),
            out["height"].tolist(),
            out["confidence"].tolist(),
            out["support"].tolist(),
            strict=True,
        )


def _clip(box: NDArray[np.float64], sizes: NDArray[np.float64]) -> NDArray[np.float64]:
    """Clip ``(left, top, width, height)`` rows to ``(width, height)`` images (NaN = unknown).

    Coordinates that need no clipping are returned unchanged (bit for bit).
    """
    out: NDArray[np.float64] = box.copy()
    known = ~np.isnan(sizes[:, 0])
    for lo, ext, limit in ((0, 2, sizes[:, 0]), (1, 3, sizes[:, 1])):
        start, end = box[:, lo], box[:, lo] + box[:, ext]
        floor, cap = np.where(known, 0.0, -np.inf), np.where(known, limit, np.inf)
        new_start = np.minimum(np.maximum(start, floor), cap)
        new_end = np.minimum(np.maximum(end, floor), cap)
        changed = (new_start != start) | (new_end != end)
        out[:, lo] = new_start
        out[:, ext] = np.where(changed, new_end - new_start, box[:, ext])
    return out
