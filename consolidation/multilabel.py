"""Multi-label consolidation: one binary problem per class over the workers who answered the item.

A worker who answered an item and did not pick class ``c`` voted "absent" for ``c``; the empty set
is an answer. Every class becomes a binary (K = 2) consolidation over the same items and workers,
solved by any single-label estimator (by default the AWS :class:`ModifiedDawidSkene`, so each
worker gets a per-class sensitivity and specificity). Output follows Ground Truth (reference 2.4):
``union`` keeps every class picked by at least one worker, with the posterior of each as its
confidence; ``threshold`` keeps the classes whose posterior reaches ``threshold``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._annotations import Annotations
from ._base import BaseConsolidator, check_fitted
from ._checks import check_real
from ._errors import AnnotationError, InvalidParameterError
from ._ids import (
    CODE_DTYPE,
    EncodedIds,
    as_id_array,
    class_array,
    dedupe,
    encode_ids,
    is_missing,
    show_id,
)
from ._params import Params
from .dawid_skene import ModifiedDawidSkene

__all__ = ["MultiLabelAnnotations", "MultiLabelConsolidator"]

_OUTPUTS = ("union", "threshold")
_BASE = (
    "a single-label estimator whose fit(Annotations) sets posteriors_ (n_items x 2), "
    "such as ModifiedDawidSkene()"
)


@dataclass(frozen=True, eq=False, repr=False)
class MultiLabelAnnotations(EncodedIds):
    """Multi-label answers: for every answer, the set of classes the worker picked.

    Attributes
    ----------
    items, workers : ndarray of int32
        Item and worker code of every answer.
    votes : ndarray of bool, shape (n_answers, n_classes)
        ``votes[a, c]`` is True when answer ``a`` includes class ``c``.
    item_ids, worker_ids, classes : ndarray
        Decoding tables.

    Examples
    --------
    >>> ann = MultiLabelAnnotations.from_records(
    ...     [("img1", "w1", ["cat", "dog"]), ("img1", "w2", ["cat"]), ("img2", "w1", [])])
    >>> ann.classes.tolist(), ann.votes.astype(int).tolist()
    (['cat', 'dog'], [[1, 1], [1, 0], [0, 0]])
    """

    items: NDArray[np.int32]
    workers: NDArray[np.int32]
    votes: NDArray[np.bool_]
    item_ids: NDArray[Any]
    worker_ids: NDArray[Any]
    classes: NDArray[Any]

    @property
    def n_answers(self) -> int:
        """Number of answers (one per item and worker)."""
        return int(self.items.size)

    @classmethod
    def from_records(
        cls,
        rows: Iterable[Sequence[Any]],
        classes: Sequence[Any] | None = None,
        *,
        duplicates: str = "last",
    ) -> MultiLabelAnnotations:
        """Encode (item, worker, labels) rows; ``labels`` is any iterable (empty = none picked).

        Parameters
        ----------
        rows : iterable of (item, worker, iterable of labels)
        classes : sequence, optional
            Class order (class index = position). Default: the sorted labels seen.
        duplicates : {"last", "keep", "error"}, default "last"
            A worker answering an item twice: keep the last answer, keep both, or raise.

        Returns
        -------
        MultiLabelAnnotations

        Raises
        ------
        AnnotationError
            Empty input, a malformed row, a missing id or label (None, NaN), a label outside
            ``classes``, fewer than one class.
        InvalidParameterError
            ``classes`` that are not distinct labels, or hold a missing value.
        """
        if isinstance(rows, str | bytes) or not isinstance(rows, Iterable):
            raise AnnotationError(
                "expected MultiLabelAnnotations, an iterable of (item, worker, labels) rows or "
                "a pandas DataFrame (columns task or item, worker, labels), got "
                f"{type(rows).__name__}"
            )
        items: list[Any] = []
        workers: list[Any] = []
        sets: list[frozenset[Any]] = []
        for row_no, row in enumerate(rows):
            try:
                item, worker, labels = row
            except (TypeError, ValueError) as exc:
                raise AnnotationError(
                    f"row {row_no} must be an (item, worker, labels) triple, got {row!r}"
                ) from exc
            for what, value in (("item", item), ("worker", worker)):
                if is_missing(value):
                    raise AnnotationError(f"missing {what} id ({show_id(value)}) in row {row_no}")
            if isinstance(labels, str | bytes) or not isinstance(labels, Iterable):
                raise AnnotationError(
                    f"row {row_no} (item {item!r}, worker {worker!r}): labels must be an "
                    f"iterable of class values, got {labels!r}"
                )
            labels_set = frozenset(labels)
            for label in labels_set:
                if is_missing(label):
                    raise AnnotationError(
                        f"row {row_no} (item {item!r}, worker {worker!r}): missing label "
                        f"({show_id(label)}) in the label set; a missing value is not a class"
                    )
            items.append(item)
            workers.append(worker)
            sets.append(labels_set)
        if not items:
            raise AnnotationError("no answers")
        if classes is None:
            seen = set().union(*sets)
            try:
                cls_list = sorted(seen)
            except TypeError:
                cls_list = sorted(seen, key=lambda v: (type(v).__name__, str(v)))
        else:
            cls_list = class_array(classes).tolist()
        if not cls_list:
            raise AnnotationError("no class was ever picked; pass classes=[...]")
        index = {c: k for k, c in enumerate(cls_list)}
        votes = np.zeros((len(sets), len(cls_list)), dtype=bool)
        for row_no, labels_set in enumerate(sets):
            for label in labels_set:
                k = index.get(label)
                if k is None:
                    raise AnnotationError(
                        f"row {row_no} (item {items[row_no]!r}, worker {workers[row_no]!r}): "
                        f"label {label!r} is not one of the classes {cls_list!r}"
                    )
                votes[row_no, k] = True
        class_arr = np.fromiter(cls_list, dtype=object, count=len(cls_list))
        return cls.from_arrays(
            _objects(items), _objects(workers), votes, class_arr, duplicates=duplicates
        )

    @classmethod
    def from_arrays(
        cls,
        items: ArrayLike,
        workers: ArrayLike,
        votes: ArrayLike,
        classes: Sequence[Any] | NDArray[Any] | None = None,
        *,
        duplicates: str = "last",
    ) -> MultiLabelAnnotations:
        """Encode item and worker ids with a boolean (n_answers, n_classes) vote matrix.

        Examples
        --------
        >>> votes = [[True, False], [True, True]]
        >>> ann = MultiLabelAnnotations.from_arrays([7, 7], ["a", "b"], votes)
        >>> ann.n_items, ann.classes.tolist()
        (1, [0, 1])
        """
        if duplicates not in ("last", "keep", "error"):
            raise InvalidParameterError("duplicates", duplicates, "one of 'last', 'keep', 'error'")
        vote_arr = np.asarray(votes)
        if vote_arr.ndim != 2 or vote_arr.dtype.kind not in "biu":
            raise AnnotationError("votes must be a two-dimensional boolean (0/1) matrix")
        if vote_arr.dtype.kind != "b":
            if np.any((vote_arr != 0) & (vote_arr != 1)):
                raise AnnotationError("votes must hold only 0 and 1")
            vote_arr = vote_arr.astype(bool)
        it_raw, wk_raw = as_id_array(items, "items"), as_id_array(workers, "workers")
        if not (it_raw.size == wk_raw.size == len(vote_arr)):
            raise AnnotationError(
                "items, workers and votes must have one entry (row) per answer, got "
                f"{it_raw.size}, {wk_raw.size}, {len(vote_arr)}"
            )
        if it_raw.size == 0:
            raise AnnotationError("no answers")
        cls_arr = np.arange(vote_arr.shape[1]) if classes is None else class_array(classes)
        if cls_arr.size != vote_arr.shape[1] or cls_arr.size < 1:
            raise AnnotationError(
                f"{cls_arr.size} classes given for a vote matrix with {vote_arr.shape[1]} columns"
            )
        it, item_ids = encode_ids(it_raw)
        wk, worker_ids = encode_ids(wk_raw)
        keep = dedupe(it, wk, item_ids, worker_ids, duplicates)
        if keep is not None:
            it, wk, vote_arr = it[keep], wk[keep], vote_arr[keep]
        return cls(it, wk, np.ascontiguousarray(vote_arr), item_ids, worker_ids, cls_arr)

    @classmethod
    def from_dataframe(
        cls,
        df: Any,
        classes: Sequence[Any] | None = None,
        *,
        duplicates: str = "last",
    ) -> MultiLabelAnnotations:
        """Encode a DataFrame with columns ``task`` (or ``item``), ``worker`` and ``labels``.

        ``labels`` holds one iterable of class values per answer (a list, set or tuple; empty =
        none picked). pandas is not a dependency: any object with those columns works.

        Returns
        -------
        MultiLabelAnnotations

        Raises
        ------
        AnnotationError
            When a column is missing, or as :meth:`from_records`.
        """
        columns = list(getattr(df, "columns", []))
        item_col = "task" if "task" in columns else "item"
        missing = [c for c in (item_col, "worker", "labels") if c not in columns]
        if missing:
            raise AnnotationError(
                f"DataFrame lacks columns {missing} (expected task or item, worker, labels); "
                f"it has {columns}"
            )
        rows = zip(
            df[item_col].to_numpy().tolist(),
            df["worker"].to_numpy().tolist(),
            df["labels"].to_numpy().tolist(),
            strict=True,
        )
        return cls.from_records(rows, classes, duplicates=duplicates)

    def binary(self, c: int) -> Annotations:
        """Return the binary problem of class ``c``: 1 = picked, 0 = answered without it."""
        # The codes and ids were checked when these annotations were built: no re-validation.
        return Annotations(
            self.items,
            self.workers,
            self.votes[:, c].astype(CODE_DTYPE),
            self.item_ids,
            self.worker_ids,
            np.array([0, 1]),
        )


def _answers_against(
    ann: MultiLabelAnnotations, c: int, post: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per worker, the 2 x 2 confusion of class ``c``'s answers against posteriors ``post``.

    ``out[w, t, l]``: the posterior mass of truth ``t`` over the items where worker ``w`` answered
    ``l`` (1 = picked), each row normalised; a row without mass (say, a worker who answered no item
    the posteriors call present) is uninformative, 0.5 and 0.5.
    """
    picked = ann.votes[:, c].astype(bool)
    out = np.zeros((ann.n_workers, 2, 2))
    for answer, rows in ((0, ~picked), (1, picked)):
        for t in (0, 1):
            out[:, t, answer] = np.bincount(
                ann.workers[rows], weights=post[ann.items[rows], t], minlength=ann.n_workers
            )
    mass = out.sum(axis=2, keepdims=True)
    rates: NDArray[np.float64] = np.divide(out, mass, out=np.full_like(out, 0.5), where=mass > 0)
    return rates


def _objects(values: list[Any]) -> NDArray[Any]:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _as_multilabel(data: Any, classes: Sequence[Any] | None) -> MultiLabelAnnotations:
    if isinstance(data, MultiLabelAnnotations):
        if classes is not None:
            raise InvalidParameterError(
                "classes", classes, "None when fitting MultiLabelAnnotations (already encoded)"
            )
        return data
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):
        return MultiLabelAnnotations.from_dataframe(data, classes)
    return MultiLabelAnnotations.from_records(data, classes)


class MultiLabelConsolidator(Params):
    """Consolidate multi-label answers class by class.

    Parameters
    ----------
    base : estimator, optional
        A single-label consolidator used for every class's binary problem; an unfitted copy is
        made per class (same parameters). Default: ``ModifiedDawidSkene()`` (AWS behaviour).
    output : {"union", "threshold"}, default "union"
        ``"union"`` (Ground Truth semantics): the classes picked by at least one worker, each with
        its posterior as confidence. ``"threshold"``: the classes whose posterior is at least
        ``threshold``.
    threshold : float, default 0.5
        Used by ``output="threshold"``.

    Attributes
    ----------
    item_ids_, classes_, worker_ids_ : ndarray
        Decoding tables.
    probabilities_ : ndarray of shape (n_items, n_classes)
        Posterior probability that each class is present.
    confidences_ : ndarray of shape (n_items, n_classes)
        The confidence reported per class (``results()``, Ground Truth's ``confidence-map``):
        ``probabilities_``, capped at the base estimator's ``max_confidence`` where it has one
        (``ModifiedDawidSkene(max_confidence=0.95)`` reports as the service does).
    votes_ : ndarray of shape (n_items, n_classes)
        Number of workers who picked each class.
    n_answers_ : ndarray of shape (n_items,)
        Number of workers who answered each item.
    selected_ : ndarray of bool, shape (n_items, n_classes)
        The consolidated label sets (per ``output``).
    confusions_ : ndarray of shape (n_workers, n_classes, 2, 2)
        Per worker and class: rows = truth (absent, present), columns = answer. The base's
        confusion matrices; for a base without them (:class:`MajorityVote`), the worker's answers
        counted against its posteriors (row ``t``: where the truth is ``t`` by the posteriors,
        how often the worker answered absent, present).
    estimators_ : list
        The fitted per-class estimators.

    Examples
    --------
    >>> rows = [("i1", "w1", {"cat"}), ("i1", "w2", {"cat", "dog"}), ("i1", "w3", {"cat"}),
    ...         ("i2", "w1", set()), ("i2", "w2", {"dog"}), ("i2", "w3", {"dog"})]
    >>> ml = MultiLabelConsolidator().fit(rows)
    >>> [(item, labels) for item, labels, _ in ml.results()]
    [('i1', ('cat', 'dog')), ('i2', ('dog',))]
    >>> ml = MultiLabelConsolidator(output="threshold").fit(rows)
    >>> [(item, labels) for item, labels, _ in ml.results()]
    [('i1', ('cat',)), ('i2', ('dog',))]
    """

    item_ids_: NDArray[Any]
    classes_: NDArray[Any]
    worker_ids_: NDArray[Any]
    probabilities_: NDArray[np.float64]
    confidences_: NDArray[np.float64]
    votes_: NDArray[np.int64]
    n_answers_: NDArray[np.int64]
    selected_: NDArray[np.bool_]
    confusions_: NDArray[np.float64]
    estimators_: list[Any]

    def __init__(self, *, base: Any = None, output: str = "union", threshold: float = 0.5) -> None:
        self.base = base
        self.output = output
        self.threshold = threshold

    def _fresh_base(self) -> Any:
        if self.base is None:
            return ModifiedDawidSkene()
        if not (callable(getattr(self.base, "fit", None)) and hasattr(self.base, "get_params")):
            raise InvalidParameterError("base", self.base, _BASE)
        return type(self.base)(**self.base.get_params())

    def _fit_binary(self, ann: Annotations) -> Any:
        """Fit a fresh base estimator on one class's binary problem; check it is single-label."""
        est = self._fresh_base()
        if isinstance(est, BaseConsolidator):
            return est.fit(ann)  # a single-label estimator: its errors are about the data
        # Duck-typed: an estimator that cannot fit Annotations (BoxConsolidator, a multi-label
        # one) is the wrong base, whatever it raises.
        try:
            est.fit(ann)
        except Exception as exc:
            raise InvalidParameterError(
                "base", self.base, f"{_BASE} (fitting it on a class's answers failed: {exc})"
            ) from exc
        posteriors = getattr(est, "posteriors_", None)
        if not (isinstance(posteriors, np.ndarray) and posteriors.shape == (ann.n_items, 2)):
            raise InvalidParameterError(
                "base", self.base, f"{_BASE} (after fit it has no such posteriors_)"
            )
        return est

    def fit(self, annotations: Any, classes: Sequence[Any] | None = None) -> MultiLabelConsolidator:
        """Fit one binary consolidation per class.

        Parameters
        ----------
        annotations : MultiLabelAnnotations, iterable of (item, worker, labels), or DataFrame
            A DataFrame has columns ``task`` (or ``item``), ``worker`` and ``labels`` (one
            iterable of class values per answer).
        classes : sequence, optional
            Class order when ``annotations`` are rows or a DataFrame (refused with
            :class:`MultiLabelAnnotations`, whose classes are already fixed).

        Returns
        -------
        self
        """
        if self.output not in _OUTPUTS:
            raise InvalidParameterError("output", self.output, "'union' or 'threshold'")
        thr = check_real("threshold", self.threshold, 0.0, 1.0)
        self._fresh_base()  # validate before any work
        ann = _as_multilabel(annotations, classes)
        n, c = ann.n_items, ann.n_classes
        probs = np.empty((n, c))
        confusions = np.empty((ann.n_workers, c, 2, 2))
        estimators = []
        for k in range(c):
            est = self._fit_binary(ann.binary(k))
            probs[:, k] = est.posteriors_[:, 1]
            if hasattr(est, "confusions_"):
                confusions[:, k] = est.confusions_
            else:  # a base without a confusion model (MajorityVote): measure against its result
                confusions[:, k] = _answers_against(ann, k, est.posteriors_)
            estimators.append(est)
        votes = np.zeros((n, c), dtype=np.int64)
        np.add.at(votes, ann.items, ann.votes.astype(np.int64))
        self.item_ids_ = ann.item_ids
        self.classes_ = ann.classes
        self.worker_ids_ = ann.worker_ids
        self.probabilities_ = probs
        cap = getattr(estimators[0], "max_confidence", None) if estimators else None
        self.confidences_ = probs if cap is None else np.minimum(probs, float(cap))
        self.votes_ = votes
        self.n_answers_ = np.bincount(ann.items, minlength=n).astype(np.int64)
        self.selected_ = votes > 0 if self.output == "union" else probs >= thr
        self.confusions_ = confusions
        self.estimators_ = estimators
        return self

    def fit_predict(self, annotations: Any) -> NDArray[np.bool_]:
        """Fit and return ``selected_`` (n_items x n_classes booleans)."""
        return self.fit(annotations).selected_

    def fit_predict_proba(self, annotations: Any) -> NDArray[np.float64]:
        """Fit and return ``probabilities_``."""
        return self.fit(annotations).probabilities_

    def results(self) -> Iterator[tuple[Any, tuple[Any, ...], dict[Any, float]]]:
        """Yield ``(item_id, labels, {label: confidence})`` per item, labels in class order."""
        check_fitted(self, "selected_")
        classes = self.classes_.tolist()
        for i, item in enumerate(self.item_ids_.tolist()):
            picked = np.flatnonzero(self.selected_[i]).tolist()
            labels = tuple(classes[k] for k in picked)
            yield item, labels, {classes[k]: float(self.confidences_[i, k]) for k in picked}
