"""Ids of any hashable type encoded once into dense integer codes, and decoded on the way out.

Shared by the classification, multi-label and box annotations: missing ids (None, NaN, pandas'
NA and NaT) are refused with the row that holds them, values keep their types (``1`` and ``"1"``
stay two ids), and class lists are checked once.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._errors import AnnotationError, InvalidParameterError

__all__ = [
    "CODE_DTYPE",
    "EncodedIds",
    "as_id_array",
    "class_array",
    "class_codes",
    "dedupe",
    "encode_ids",
    "encode_labels",
    "is_missing",
    "object_array",
    "show_id",
]

CODE_DTYPE = np.int32


def show_id(value: Any) -> str:
    """Repr of an id for messages, without numpy's scalar wrappers (``np.str_('w')``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _pandas_missing(value: Any) -> bool:
    """Tell whether ``value`` is pandas' ``NA`` or ``NaT``, without importing pandas."""
    pd = sys.modules.get("pandas")
    return pd is not None and (
        value is getattr(pd, "NA", None) or value is getattr(pd, "NaT", None)
    )


def is_missing(value: Any) -> bool:
    """Whether ``value`` stands for a missing value: None, NaN, NaT or pandas' NA."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return _pandas_missing(value)


def _bad_id(value: Any) -> str | None:
    """Why ``value`` cannot be an id (missing, or an infinite number), or None when it can."""
    if is_missing(value):
        return "missing"
    if isinstance(value, float | np.floating) and math.isinf(value):
        return "infinite"
    return None


def _may_be_bad(kind: type) -> bool:
    """Whether values of this type can be missing or infinite (the others need no check)."""
    return (
        kind is type(None)
        or issubclass(kind, float | np.floating | np.datetime64 | np.timedelta64)
        or kind.__module__.startswith("pandas")
    )


_NATIVE = (int, float, str, bool)


def object_array(values: list[Any]) -> NDArray[Any]:
    """One-dimensional array of ``values``, each kept exactly as given.

    Values of one Python or numpy scalar type get that native dtype (fast ``np.unique``, same
    ids); anything else (mixed types, tuples) stays an object array, so that ``1`` and ``"1"``
    are not merged into ``"1"``, nor tuples of different lengths refused.
    """
    kinds = set(map(type, values))
    if len(kinds) == 1:
        (kind,) = kinds
        if kind in _NATIVE or (issubclass(kind, np.generic) and kind is not np.object_):
            arr = np.asarray(values)
            if arr.ndim == 1:
                return arr
    return np.fromiter(values, dtype=object, count=len(values))


def as_id_array(values: Any, what: str, noun: str | None = None) -> NDArray[Any]:
    """Ids as a one-dimensional array, values kept as given; refuse missing or infinite ids.

    ``what`` names the argument (``"items"``); ``noun`` the id in messages (default ``what``
    without its final ``s``).
    """
    noun = what[:-1] if noun is None else noun
    if isinstance(values, np.ndarray):
        arr = values
    elif isinstance(values, list | tuple):
        arr = object_array(values if isinstance(values, list) else list(values))
    elif hasattr(values, "__array__"):  # a pandas Series or Index: keep its dtype
        arr = np.asarray(values)
    else:
        try:
            if isinstance(values, str | bytes):
                raise TypeError
            arr = object_array(list(values))
        except TypeError:
            raise AnnotationError(
                f"{what} must be a one-dimensional sequence of ids, got {type(values).__name__}"
            ) from None
    if arr.ndim != 1:
        raise AnnotationError(f"{what} must be one-dimensional, got shape {arr.shape}")
    bad_rows: Iterable[int] = ()
    if arr.dtype.kind == "f":
        bad_rows = np.flatnonzero(~np.isfinite(arr)).tolist()
    elif arr.dtype.kind in "mM":
        bad_rows = np.flatnonzero(np.isnat(arr)).tolist()
    elif arr.dtype.kind == "O":
        kinds = set(map(type, arr))
        unhashable = [kind for kind in kinds if kind.__hash__ is None]
        if unhashable:  # a list or dict cannot be an id: it would be encoded, never looked up
            row = next(r for r, v in enumerate(arr) if type(v) in unhashable)
            raise AnnotationError(
                f"{noun} id {show_id(arr[row])} in row {row} is a {type(arr[row]).__name__}, "
                "which cannot be an id (ids must be hashable: use a tuple or a string)"
            )
        if any(_may_be_bad(kind) for kind in kinds):
            bad_rows = range(arr.size)
    for row in bad_rows:
        value = arr[row]
        reason = _bad_id(value)
        if reason == "missing":
            raise AnnotationError(f"missing {noun} id ({show_id(value)}) in row {row}")
        if reason is not None:
            raise AnnotationError(
                f"{noun} id {show_id(value)} in row {row} is {reason}, not an id (a number used "
                "as an id must be finite)"
            )
    return arr


def class_array(classes: Any) -> NDArray[Any]:
    """Return the ``classes`` argument as an array of distinct labels kept exactly as given.

    Raises
    ------
    InvalidParameterError
        Naming ``classes``: not a sequence, a missing value (None, NaN) among them, repeats.
    """
    if isinstance(classes, str | bytes) or not isinstance(classes, Iterable | np.ndarray):
        raise InvalidParameterError("classes", classes, "a sequence of labels")
    values = list(classes)
    for value in values:
        if is_missing(value):
            raise InvalidParameterError(
                "classes", values, "labels, none of them missing (None or NaN is not a class)"
            )
    try:
        distinct = len(set(values)) == len(values)
    except TypeError:
        raise InvalidParameterError("classes", values, "hashable labels") from None
    if not distinct:
        raise InvalidParameterError("classes", values, "distinct labels")
    return object_array(values)


def encode_ids(values: NDArray[Any]) -> tuple[NDArray[np.int32], NDArray[Any]]:
    """Encode ids as dense codes in order of first appearance.

    Parameters
    ----------
    values : ndarray
        One-dimensional array of hashable ids.

    Returns
    -------
    codes : ndarray of int32
        ``codes[r]`` is the position of ``values[r]`` in ``uniques``.
    uniques : ndarray
        The distinct ids, in the order they first appear.

    Examples
    --------
    >>> codes, uniques = encode_ids(np.array(["b", "a", "b"]))
    >>> codes.tolist(), uniques.tolist()
    ([0, 1, 0], ['b', 'a'])
    """
    try:
        uniq, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    except TypeError:
        # Mixed, unorderable ids (e.g. ints and strings): a dict keeps first-appearance order.
        table: dict[Hashable, int] = {}
        codes = np.fromiter(
            (table.setdefault(v, len(table)) for v in values), dtype=CODE_DTYPE, count=len(values)
        )
        out = np.empty(len(table), dtype=object)
        out[:] = list(table)
        return codes, out
    order = np.argsort(first, kind="stable")
    rank = np.empty(order.size, dtype=CODE_DTYPE)
    rank[order] = np.arange(order.size, dtype=CODE_DTYPE)
    return rank[inverse.reshape(-1)], uniq[order]


def _sorted_labels(values: NDArray[Any]) -> NDArray[Any]:
    try:
        return np.unique(values)
    except TypeError:
        # Mixed types (1 and "1"): sort by type name, then value (or repr, when unorderable).
        uniq = list(dict.fromkeys(values.tolist()))
        try:
            ordered = sorted(uniq, key=lambda v: (type(v).__name__, v))
        except TypeError:
            ordered = sorted(uniq, key=lambda v: (type(v).__name__, repr(v)))
        return np.fromiter(ordered, dtype=object, count=len(ordered))


def encode_labels(
    labels: NDArray[Any],
    classes: Sequence[Any] | None,
    items: NDArray[Any] | None = None,
    workers: NDArray[Any] | None = None,
) -> tuple[NDArray[np.int32], NDArray[Any]]:
    """Encode ``labels`` as positions in ``classes`` (default: the sorted distinct labels).

    ``items`` and ``workers`` (the raw ids, aligned with ``labels``) name the answer of a label
    that is none of the classes.
    """
    cls = _sorted_labels(labels) if classes is None else class_array(classes)
    if cls.size < 2:
        raise AnnotationError(
            f"need at least 2 classes, got {cls.tolist()!r}: name the classes that were never "
            "answered (classes=[...]; on the command line, --classes)"
        )
    codes = class_codes(labels, cls)
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        row = int(bad[0])
        label, known = show_id(labels[row]), cls.tolist()
        if items is None or workers is None:
            raise AnnotationError(f"label {label} in row {row} is not one of the classes {known!r}")
        raise AnnotationError(
            f"item {show_id(items[row])}, worker {show_id(workers[row])}: label {label} in row "
            f"{row} is not one of the classes {known!r}"
        )
    return codes, cls


def class_codes(labels: NDArray[Any], classes: NDArray[Any]) -> NDArray[np.int32]:
    """Return each label's position in ``classes``, -1 where it is none of them.

    Examples
    --------
    >>> class_codes(np.array(["b", "x", "a"]), np.array(["a", "b"])).tolist()
    [1, -1, 0]
    """
    index = {c: k for k, c in enumerate(classes.tolist())}
    try:  # one dictionary lookup per distinct label
        uniq, inverse = np.unique(labels, return_inverse=True)
        lookup = np.array([index.get(u, -1) for u in uniq.tolist()], dtype=CODE_DTYPE)
        codes: NDArray[np.int32] = lookup[inverse.reshape(-1)]
    except TypeError:  # labels of mixed types: one lookup per label
        codes = np.fromiter((index.get(v, -1) for v in labels.tolist()), CODE_DTYPE, labels.size)
    return codes


class EncodedIds:
    """Item, worker and class counts of an annotation container, from its decoding tables."""

    item_ids: NDArray[Any]
    worker_ids: NDArray[Any]
    classes: NDArray[Any]

    @property
    def n_items(self) -> int:
        """Number of distinct items."""
        return int(self.item_ids.size)

    @property
    def n_workers(self) -> int:
        """Number of distinct workers."""
        return int(self.worker_ids.size)

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return int(self.classes.size)

    #: Name of the row count shown by ``repr`` (``n_answers``, ``n_boxes``).
    _size_name = "n_answers"

    def __repr__(self) -> str:
        size = getattr(self, self._size_name)
        return (
            f"{type(self).__name__}({self._size_name}={size}, n_items={self.n_items}, "
            f"n_workers={self.n_workers}, classes={self.classes.tolist()!r})"
        )


def dedupe(
    items: NDArray[np.int32],
    workers: NDArray[np.int32],
    item_ids: NDArray[Any],
    worker_ids: NDArray[Any],
    policy: str,
) -> NDArray[np.intp] | None:
    """Return the rows to keep (None = all) under the duplicate-answer policy."""
    if policy == "keep":
        return None
    key = items.astype(np.int64) * worker_ids.size + workers
    # Last occurrence of every (item, worker) pair: unique over the reversed keys.
    _, first_in_reversed = np.unique(key[::-1], return_index=True)
    if first_in_reversed.size == key.size:
        return None
    if policy == "error":
        seen = np.zeros(key.size, dtype=bool)
        seen[key.size - 1 - first_in_reversed] = True
        row = int(np.flatnonzero(~seen)[0])
        worker, item = show_id(worker_ids[workers[row]]), show_id(item_ids[items[row]])
        raise AnnotationError(
            f"worker {worker} answered item {item} more than once (row {row}); "
            "pass duplicates='last' or 'keep'"
        )
    return np.sort(key.size - 1 - first_in_reversed)
