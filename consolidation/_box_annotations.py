"""Bounding-box annotations: per item, the workers who answered and the boxes they drew.

Ids are encoded once, at this boundary, into dense int32 codes: items in order of first appearance
(results come back in input order), workers **sorted by id value** (so the canonical visiting order
of the box consolidator does not depend on the order in which answers are given) and classes sorted
or as given. Malformed input raises :class:`AnnotationError` naming the row, item and worker.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._box_geometry import COORDS, coords_array, image_size_problem
from ._errors import AnnotationError, InvalidParameterError
from ._ids import (
    CODE_DTYPE,
    EncodedIds,
    as_id_array,
    class_array,
    class_codes,
    encode_ids,
    is_missing,
    object_array,
)

__all__ = ["BoxAnnotations"]

_BOX_KEYS = ("label", *COORDS)


def _label_array(values: Any) -> NDArray[Any]:
    arr = values if isinstance(values, np.ndarray) else object_array(list(values))
    if arr.ndim != 1:
        raise AnnotationError(f"labels must be one-dimensional, got shape {arr.shape}")
    return arr


def _id_array(values: Any, what: str) -> NDArray[Any]:
    if values is None:
        return np.empty(0, dtype=object)
    arr = values if isinstance(values, np.ndarray) else object_array(list(values))
    return as_id_array(arr, what)


def _concat(a: NDArray[Any], b: NDArray[Any]) -> NDArray[Any]:
    if not b.size:
        return a
    if not a.size:
        return b
    if a.dtype != b.dtype and not (a.dtype.kind == b.dtype.kind and a.dtype.kind in "iuU"):
        a, b = a.astype(object), b.astype(object)
    return np.concatenate([a, b])


def _py(arr: NDArray[Any], index: Any) -> Any:
    """Element ``index`` of ``arr`` as a plain Python object (for messages)."""
    i = int(index)
    return arr[i : i + 1].tolist()[0]


def _sort_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _sorted_unique(values: NDArray[Any]) -> tuple[NDArray[np.int32], NDArray[Any]]:
    """Encode ids as codes ordered by id value (type name first when types are mixed)."""
    try:
        uniq, inverse = np.unique(values, return_inverse=True)
        return inverse.reshape(-1).astype(CODE_DTYPE), uniq
    except TypeError:
        distinct = list(dict.fromkeys(values.tolist()))
        try:
            distinct.sort(key=_sort_key)
        except TypeError:
            distinct.sort(key=lambda v: (type(v).__name__, repr(v)))
        table: dict[Hashable, int] = {v: k for k, v in enumerate(distinct)}
        codes = np.fromiter((table[v] for v in values.tolist()), CODE_DTYPE, values.size)
        out = np.empty(len(distinct), dtype=object)
        out[:] = distinct
        return codes, out


@dataclass(frozen=True, eq=False, repr=False)
class BoxAnnotations(EncodedIds):
    """Bounding boxes drawn by crowd workers, as dense codes plus the ids needed to decode them.

    Build instances with :meth:`from_records`, :meth:`from_arrays` or :meth:`from_answers`. Code
    that calls the constructor directly (the simulator) must keep the invariants below: dense codes,
    worker codes in the order of the worker ids, answered pairs unique and sorted.

    Attributes
    ----------
    items, workers, labels : ndarray of int32, shape (n_boxes,)
        Item code, worker code and class index of every box, in input order.
    boxes : ndarray of float64, shape (n_boxes, 4)
        ``(left, top, width, height)`` in pixels, top-left origin; finite, width and height >= 0.
    answered_items, answered_workers : ndarray of int32, shape (n_answers,)
        Every (item, worker) pair of a worker who answered the item, whether or not the worker drew
        a box; unique, sorted by item then worker code.
    item_ids : ndarray
        Item ids in order of first appearance (boxes first, then the ``answered`` pairs; for
        :meth:`from_answers`, the order of the answers).
    worker_ids : ndarray
        Worker ids sorted by value (the canonical order in which workers are visited).
    classes : ndarray
        Class values; class index ``k`` is ``classes[k]``.
    image_sizes : ndarray of float64, shape (n_items, 2)
        ``(width, height)`` per item; NaN where unknown.

    Examples
    --------
    >>> ann = BoxAnnotations.from_records(
    ...     [("img1", "w2", "cat", 10, 10, 40, 40), ("img1", "w1", "cat", 12, 8, 40, 44)],
    ...     answered=[("img1", "w3")],
    ...     image_sizes={"img1": (100, 80)},
    ... )
    >>> ann.n_boxes, ann.n_items, ann.worker_ids.tolist(), ann.workers_per_item.tolist()
    (2, 1, ['w1', 'w2', 'w3'], [3])
    """

    _size_name = "n_boxes"

    items: NDArray[np.int32]
    workers: NDArray[np.int32]
    labels: NDArray[np.int32]
    boxes: NDArray[np.float64]
    answered_items: NDArray[np.int32]
    answered_workers: NDArray[np.int32]
    item_ids: NDArray[Any]
    worker_ids: NDArray[Any]
    classes: NDArray[Any]
    image_sizes: NDArray[np.float64]

    @property
    def n_boxes(self) -> int:
        """Number of boxes (rows)."""
        return int(self.items.size)

    @property
    def workers_per_item(self) -> NDArray[np.int64]:
        """Number of workers who answered each item (W of reference 2.5), shape (n_items,)."""
        return np.bincount(self.answered_items, minlength=self.n_items).astype(np.int64)

    def __len__(self) -> int:
        return self.n_boxes

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(
        cls,
        items: ArrayLike,
        workers: ArrayLike,
        labels: ArrayLike,
        boxes: ArrayLike,
        *,
        answered_items: ArrayLike | None = None,
        answered_workers: ArrayLike | None = None,
        image_sizes: Mapping[Any, Sequence[float]] | None = None,
        classes: Sequence[Any] | None = None,
    ) -> BoxAnnotations:
        """Encode aligned arrays: the fast constructor (no per-row Python work when input is clean).

        Parameters
        ----------
        items, workers, labels : array_like, shape (n_boxes,)
            Item, worker and class of each box; ids of any hashable type.
        boxes : array_like, shape (n_boxes, 4)
            ``(left, top, width, height)`` of each box.
        answered_items, answered_workers : array_like, optional
            Extra (item, worker) pairs of workers who answered, e.g. those who drew nothing.
        image_sizes : mapping, optional
            Item id -> ``(width, height)``; fused boxes of those items are clipped to the image.
        classes : sequence, optional
            Class order (class index = position). Default: the sorted distinct labels.

        Returns
        -------
        BoxAnnotations

        Raises
        ------
        AnnotationError
            On empty input, mismatched lengths, a missing id, a non-finite coordinate, a negative
            width or height, a label outside ``classes`` or a bad image size; the message names the
            row, item and worker.

        Examples
        --------
        >>> ann = BoxAnnotations.from_arrays(
        ...     [7, 7], ["b", "a"], ["car", "car"], [[0, 0, 10, 10], [1, 1, 10, 10]],
        ...     answered_items=[8], answered_workers=["c"],
        ... )
        >>> ann.item_ids.tolist(), ann.workers.tolist(), ann.workers_per_item.tolist()
        ([7, 8], [1, 0], [2, 1])
        """
        it_raw = _id_array(items, "items")
        wk_raw = _id_array(workers, "workers")
        lb_raw = _label_array(labels)
        n = it_raw.size
        if wk_raw.size != n or lb_raw.size != n:
            raise AnnotationError(
                f"items, workers and labels must have the same length, got "
                f"{[n, wk_raw.size, lb_raw.size]}"
            )
        ai_raw = _id_array(answered_items, "answered_items")
        aw_raw = _id_array(answered_workers, "answered_workers")
        if ai_raw.size != aw_raw.size:
            raise AnnotationError(
                f"answered_items and answered_workers must have the same length, got "
                f"{[ai_raw.size, aw_raw.size]}"
            )
        if n == 0 and ai_raw.size == 0:
            raise AnnotationError("no answers: no boxes and no answered (item, worker) pairs")
        item_codes, item_ids = encode_ids(_concat(it_raw, ai_raw))
        worker_codes, worker_ids = _sorted_unique(_concat(wk_raw, aw_raw))
        it, wk = item_codes[:n], worker_codes[:n]

        def where(row: int) -> str:
            return f"item {_py(item_ids, it[row])!r}, worker {_py(worker_ids, wk[row])!r}"

        coords = coords_array(boxes, n, where)
        lb, cls_arr = encode_labels(lb_raw, classes, where)
        answered = np.unique(item_codes.astype(np.int64) * max(worker_ids.size, 1) + worker_codes)
        a_items = (answered // max(worker_ids.size, 1)).astype(CODE_DTYPE)
        a_workers = (answered % max(worker_ids.size, 1)).astype(CODE_DTYPE)
        sizes = _image_sizes(image_sizes, item_ids)
        return cls(it, wk, lb, coords, a_items, a_workers, item_ids, worker_ids, cls_arr, sizes)

    @classmethod
    def from_records(
        cls,
        rows: Iterable[Sequence[Any]],
        answered: Iterable[Sequence[Any]] | None = None,
        image_sizes: Mapping[Any, Sequence[float]] | None = None,
        classes: Sequence[Any] | None = None,
    ) -> BoxAnnotations:
        """Encode ``(item, worker, label, left, top, width, height)`` rows.

        Parameters
        ----------
        rows : iterable of 7-tuples
            One box each; ids of any hashable type, coordinates in pixels.
        answered : iterable of (item, worker), optional
            Workers who answered without drawing (they count in the confidence denominator W).
            Pairs of workers who drew boxes may be listed too.
        image_sizes : mapping, optional
            Item id -> ``(width, height)``.
        classes : sequence, optional
            Class order. Default: the sorted distinct labels.

        Returns
        -------
        BoxAnnotations

        Examples
        --------
        >>> ann = BoxAnnotations.from_records(
        ...     [("a", "w1", "dog", 0, 0, 5, 5)], answered=[("b", "w1")], classes=["cat", "dog"]
        ... )
        >>> ann.item_ids.tolist(), ann.labels.tolist(), ann.n_classes
        (['a', 'b'], [1], 2)
        """
        items: list[Any] = []
        workers: list[Any] = []
        labels: list[Any] = []
        coords: list[Any] = []
        for row_no, row in enumerate(rows):
            try:
                item, worker, label, left, top, width, height = row
            except (TypeError, ValueError) as exc:
                raise AnnotationError(
                    f"row {row_no} must be (item, worker, label, left, top, width, height), "
                    f"got {row!r}"
                ) from exc
            box = (left, top, width, height)
            for name, value in zip(("left", "top", "width", "height"), box, strict=True):
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise AnnotationError(
                        f"item {item!r}, worker {worker!r}: {name} {value!r} is not a number "
                        f"(row {row_no})"
                    )
            items.append(item)
            workers.append(worker)
            labels.append(label)
            coords.append(box)
        a_items: list[Any] = []
        a_workers: list[Any] = []
        for row_no, pair in enumerate(answered if answered is not None else ()):
            try:
                item, worker = pair
            except (TypeError, ValueError) as exc:
                raise AnnotationError(
                    f"answered[{row_no}] must be an (item, worker) pair, got {pair!r}"
                ) from exc
            a_items.append(item)
            a_workers.append(worker)
        return cls.from_arrays(
            object_array(items),
            object_array(workers),
            object_array(labels),
            coords if coords else np.empty((0, 4)),
            answered_items=object_array(a_items),
            answered_workers=object_array(a_workers),
            image_sizes=image_sizes,
            classes=classes,
        )

    @classmethod
    def from_answers(
        cls,
        answers: Iterable[Sequence[Any]],
        classes: Sequence[Any] | None = None,
        *,
        duplicates: str = "last",
    ) -> BoxAnnotations:
        """Encode one row per worker answer: ``(item, worker, boxes, image_size)``.

        This is the shape of a Ground Truth bounding-box answer once its JSON has been read:
        ``boxes`` is ``boundingBoxes`` (None or empty when the worker drew nothing) and
        ``image_size`` is ``inputImageProperties``.

        Parameters
        ----------
        answers : iterable of 4-tuples
            ``boxes`` is None or an iterable of mappings with keys ``label, left, top, width,
            height`` (or of 5-tuples in that order, e.g. ``manifests.responses.AnswerBox``);
            ``image_size`` is a mapping with keys ``width`` and ``height`` or a ``(width, height)``
            pair; it is unknown when None or when either value is None.
        classes : sequence, optional
            Class order. Default: the sorted distinct labels.
        duplicates : {"last", "keep", "error"}, default "last"
            A worker answering an item twice: keep the last answer (as for the other
            annotations), keep the boxes of both, or raise.

        Returns
        -------
        BoxAnnotations

        Raises
        ------
        AnnotationError
            Also when two answers give different image sizes for one item, or (with
            ``duplicates="error"``) when a worker answered an item twice.

        Examples
        --------
        >>> ann = BoxAnnotations.from_answers([
        ...     ("img", "w1", [{"label": "owl", "left": 1, "top": 2, "width": 3, "height": 4}],
        ...      {"height": 60, "width": 80}),
        ...     ("img", "w2", None, {"height": 60, "width": 80}),
        ... ])
        >>> ann.n_boxes, ann.workers_per_item.tolist(), ann.image_sizes.tolist()
        (1, [2], [[80.0, 60.0]])
        """
        if duplicates not in ("last", "keep", "error"):
            raise InvalidParameterError("duplicates", duplicates, "one of 'last', 'keep', 'error'")
        parsed = _answer_tuples(answers, duplicates)
        rows: list[tuple[Any, ...]] = []
        answered: list[tuple[Any, Any]] = []
        sizes: dict[Any, Any] = {}
        for item, worker, boxes, size in parsed:
            answered.append((item, worker))
            for box in boxes or ():
                if isinstance(box, Mapping):
                    missing = [k for k in _BOX_KEYS if k not in box]
                    if missing:
                        raise AnnotationError(
                            f"item {item!r}, worker {worker!r}: box {dict(box)!r} lacks {missing}"
                        )
                    rows.append((item, worker, *(box[k] for k in _BOX_KEYS)))
                else:
                    rows.append((item, worker, *box))
            wh: Any = None
            if size is not None:
                wh = (size.get("width"), size.get("height")) if isinstance(size, Mapping) else size
                wh = None if any(v is None for v in wh) else tuple(wh)
            if wh is not None:
                if item in sizes and sizes[item] != wh:
                    raise AnnotationError(
                        f"item {item!r}, worker {worker!r}: image size {wh!r} differs from "
                        f"{sizes[item]!r} given by another answer"
                    )
                sizes[item] = wh
        ann = cls.from_records(rows, answered=answered, image_sizes=sizes, classes=classes)
        return _items_in_order(ann, [item for item, _ in answered])

    # ------------------------------------------------------------------ helpers
    def to_records(self) -> list[tuple[Any, ...]]:
        """Decode into ``(item, worker, label, left, top, width, height)`` rows, in box order."""
        return list(
            zip(
                self.item_ids[self.items].tolist(),
                self.worker_ids[self.workers].tolist(),
                self.classes[self.labels].tolist(),
                *self.boxes.T.tolist(),
                strict=True,
            )
        )


def _items_in_order(ann: BoxAnnotations, items: list[Any]) -> BoxAnnotations:
    """Renumber the item codes of ``ann`` in order of first appearance in ``items``.

    ``from_records`` numbers items with boxes first; answers give the input order of every item.
    """
    position = {item: k for k, item in enumerate(dict.fromkeys(items))}
    new = np.fromiter((position[i] for i in ann.item_ids.tolist()), np.int64, ann.n_items)
    if (new == np.arange(ann.n_items)).all():
        return ann
    item_ids, sizes = np.empty_like(ann.item_ids), np.empty_like(ann.image_sizes)
    item_ids[new], sizes[new] = ann.item_ids, ann.image_sizes
    a_items = new[ann.answered_items]
    order = np.lexsort((ann.answered_workers, a_items))
    return replace(
        ann,
        items=new[ann.items].astype(CODE_DTYPE),
        answered_items=a_items[order].astype(CODE_DTYPE),
        answered_workers=ann.answered_workers[order],
        item_ids=item_ids,
        image_sizes=sizes,
    )


def _answer_tuples(answers: Iterable[Sequence[Any]], duplicates: str) -> list[tuple[Any, ...]]:
    """Unpack ``(item, worker, boxes, image_size)`` answers under the duplicate-answer policy."""
    parsed: list[tuple[Any, ...]] = []
    last: dict[tuple[Any, Any], int] = {}
    for row_no, answer in enumerate(answers):
        try:
            item, worker, boxes, size = answer
        except (TypeError, ValueError) as exc:
            raise AnnotationError(
                f"answer {row_no} must be (item, worker, boxes, image_size), got {answer!r}"
            ) from exc
        for what, value in (("item", item), ("worker", worker)):
            try:
                hash(value)
            except TypeError:
                raise AnnotationError(
                    f"answer {row_no}: {what} id {value!r} is a {type(value).__name__}, which "
                    "cannot be an id (ids must be hashable: use a tuple or a string)"
                ) from None
        seen = last.get((item, worker))
        if seen is not None and duplicates == "error":
            raise AnnotationError(
                f"item {item!r}, worker {worker!r}: answered twice (answers {seen} and "
                f"{row_no}); pass duplicates='last' or 'keep'"
            )
        last[item, worker] = row_no
        parsed.append((item, worker, boxes, size))
    if duplicates == "keep" or len(last) == len(parsed):
        return parsed
    return [parsed[k] for k in sorted(last.values())]


def encode_labels(
    labels: NDArray[Any], classes: Sequence[Any] | None, where: Any
) -> tuple[NDArray[np.int32], NDArray[Any]]:
    for row, value in enumerate(labels.tolist() if labels.dtype.kind in "fO" else ()):
        if is_missing(value):
            raise AnnotationError(f"{where(row)}: missing label ({value!r}) (row {row})")
    if classes is None:
        codes, cls_arr = _sorted_unique(labels)
        return codes, cls_arr
    cls_arr = class_array(classes)
    codes = class_codes(labels, cls_arr)
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        row = int(bad[0])
        raise AnnotationError(
            f"{where(row)}: label {_py(labels, row)!r} is not one of the classes "
            f"{cls_arr.tolist()!r} (row {row})"
        )
    return codes.astype(CODE_DTYPE, copy=False), cls_arr


def _image_sizes(
    image_sizes: Mapping[Any, Sequence[float]] | None, item_ids: NDArray[Any]
) -> NDArray[np.float64]:
    sizes = np.full((item_ids.size, 2), np.nan, dtype=np.float64)
    if image_sizes is None:
        return sizes
    if not isinstance(image_sizes, Mapping):
        raise InvalidParameterError(
            "image_sizes", type(image_sizes).__name__, "a mapping item -> (width, height)"
        )
    index = {v: k for k, v in enumerate(item_ids.tolist())}
    for item, size in image_sizes.items():
        code = index.get(item)
        if code is None:
            raise AnnotationError(f"image_sizes names item {item!r}, which no worker answered")
        try:
            try:
                width, height = (float(v) for v in size)
            except OverflowError:  # an int beyond the float range: the check below names it
                width, height = size
        except (TypeError, ValueError):
            raise AnnotationError(
                f"item {item!r}: image size must be (width, height), got {size!r}"
            ) from None
        problem = image_size_problem(width, height)
        if problem is not None:
            raise AnnotationError(
                f"item {item!r}: image size ({width!r}, {height!r}): {problem[0]} {problem[1]}"
            )
        sizes[code] = (width, height)
    return sizes
