"""Pairs of workers who agree more than independent workers could: copying, shared sources.

Every model here assumes that workers answer an item independently given its true class. Two
workers who copy each other, or share a source, break that and are counted twice. Under
independence, and given the fitted model, workers ``a`` and ``b`` agree on item ``i`` with
probability ``p_i = sum_t q_i(t) sum_l C_a[t, l] C_b[t, l]`` (``q`` the item posteriors, ``C``
the confusion matrices). Over the ``n`` items they share, their agreements are then a sum of
independent Bernoulli trials with mean ``sum p_i`` and variance ``sum p_i (1 - p_i)``.
:func:`copying_pairs` ranks pairs by the z-score of their observed agreements under that law.
A pair of copiers agrees on their mistakes too, which independent workers rarely do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._annotations import Annotations
from ._base import annotations_of, check_fitted
from ._checks import check_count, check_real
from ._errors import AnnotationError, InvalidParameterError

__all__ = ["CopyingPair", "copying_pairs", "drop_copies"]

F64 = NDArray[np.float64]

_CHUNK_CELLS = 1 << 22  # pair-items x K x K per chunk of the expected-agreement computation
_MIN_SHARED, _MIN_Z, _MIN_AGREEMENT = 10, 5.0, 0.5  # the default thresholds


@dataclass(frozen=True)
class CopyingPair:
    """Two workers and how much more often they agree than independent workers would.

    Attributes
    ----------
    worker_a, worker_b : hashable
        The two workers' ids (in the order of the estimator's workers).
    shared : int
        Items both answered.
    agreement : float
        Share of those items where they gave the same answer.
    expected : float
        The share expected if they answered independently, under the fitted model.
    z : float
        ``(observed - expected agreements) / standard deviation`` under independence.

    Examples
    --------
    >>> from consolidation import DawidSkene
    >>> from consolidation.simulate import add_copiers, classification
    >>> sim = add_copiers(classification(600, 12, 3, 4, seed=0), fraction=0.2, seed=1)
    >>> ds = DawidSkene(backend="numpy").fit(sim.annotations)
    >>> p = copying_pairs(ds, sim.annotations)[0]
    >>> p.worker_a, p.worker_b, p.shared, p.agreement, round(p.expected, 2), round(p.z, 1)
    (5, 12, 204, 1.0, 0.66, 10.3)
    """

    worker_a: Any
    worker_b: Any
    shared: int
    agreement: float
    expected: float
    z: float


def copying_pairs(
    estimator: Any,
    annotations: Any = None,
    *,
    min_shared: int = _MIN_SHARED,
    min_z: float = _MIN_Z,
    min_agreement: float = _MIN_AGREEMENT,
) -> list[CopyingPair]:
    """Find pairs of workers who agree far more often than independent workers would.

    Parameters
    ----------
    estimator : fitted estimator
        One with ``confusions_`` and ``posteriors_``: DS, MDS or the default.
    annotations : Annotations or rows, optional
        The answers it was fitted on (the default estimator keeps its own).
    min_shared : int, default 10
        Pairs that share fewer items are left out (too little evidence either way).
    min_z : float, default 5.0
        Pairs with a lower z-score are left out; ``-inf`` keeps every pair.
    min_agreement : float, default 0.5
        Pairs that agree on a smaller share of their items are left out: copying shows as
        agreement, and a model fitted on answers that are not independent can expect too little
        agreement between two groups of copies (0 keeps every pair).

    Returns
    -------
    list of CopyingPair
        By decreasing z-score.

    Raises
    ------
    InvalidParameterError
        For an estimator without confusion matrices (majority vote), missing annotations, or a
        bad threshold.

    Notes
    -----
    A pair flagged here counts its shared evidence twice in every model of this package:
    its answers are not independent. The z-score is large for exact copies, moderate for
    workers who copy some of the time. Very accurate workers leave little room to agree more
    than expected, so they are found only over many shared items (above, worker 6, right about
    90% of the time, and its copy have a z-score of 4.6 over 169 items). A copy group that
    outvotes the rest of an item's workers is believed by the model, which then calls its members
    accurate and expects their agreement: with four answers per item among sloppy workers and
    spammers, a sloppy worker and its copy were judged 98% accurate by DS and scored z = 3.0.
    The more answers per item, the less a copy group can outvote, and the better it is found.
    Time and memory grow with the pairs of answers to the same item, ``sum_i r_i (r_i - 1) / 2``
    for ``r_i`` answers to item ``i`` (about 120 bytes each at the peak): 1e6 answers, five per
    item, take about a second and 230 MB.

    Examples
    --------
    >>> from consolidation import DawidSkene
    >>> from consolidation.simulate import add_copiers, classification
    >>> sim = add_copiers(classification(600, 12, 3, 4, seed=0), fraction=0.2, seed=1)
    >>> ds = DawidSkene().fit(sim.annotations)
    >>> sim.worker_kinds[[5, 6, 12, 13]].tolist()  # 12 copies 5, 13 copies 6
    ['adversarial', 'reliable', 'copier', 'copier']
    >>> [(p.worker_a, p.worker_b, p.agreement) for p in copying_pairs(ds, sim.annotations)]
    [(5, 12, 1.0)]
    >>> [(p.worker_a, p.worker_b) for p in copying_pairs(ds, sim.annotations, min_z=4)]
    [(5, 12), (6, 13)]
    """
    ann = _checked(estimator, annotations, min_shared, min_z, min_agreement)
    keys, shared, agreed, expected, z = _pair_statistics(estimator, ann)
    keep = _flagged(shared, agreed, z, min_shared, min_z, min_agreement)
    ids = ann.worker_ids.tolist()
    return [
        CopyingPair(
            ids[keys[j] // ann.n_workers],
            ids[keys[j] % ann.n_workers],
            int(shared[j]),
            float(agreed[j] / shared[j]),
            float(expected[j] / shared[j]),
            float(z[j]),
        )
        for j in keep.tolist()
    ]


def drop_copies(
    estimator: Any,
    annotations: Any = None,
    *,
    min_agreement: float = 0.95,
    min_shared: int = _MIN_SHARED,
    min_z: float = _MIN_Z,
) -> Annotations:
    """Remove the answers that repeat another worker's: one voice per group of copies.

    Pairs that :func:`copying_pairs` reports with ``min_agreement`` (near-exact copies by
    default) join their workers into groups. In each group the worker with the most answers is
    kept whole. The others keep only their answers to items that worker did not answer, which is
    the evidence they do not duplicate. Fit again on the result.

    Parameters
    ----------
    estimator : fitted estimator
        As for :func:`copying_pairs`.
    annotations : Annotations or rows, optional
        The answers it was fitted on (the default estimator keeps its own).
    min_agreement, min_shared, min_z : optional
        The thresholds of :func:`copying_pairs`; ``min_agreement`` is 0.95 here, so that
        workers who merely err together (real crowds have many) are not taken for copies.

    Returns
    -------
    Annotations
        The same items and classes, fewer answers; workers left without answers are gone.

    Examples
    --------
    >>> from consolidation import DawidSkene
    >>> from consolidation.simulate import add_copiers, classification
    >>> sim = classification(600, 12, 3, 4, seed=0)
    >>> copied = add_copiers(sim, fraction=0.2, seed=1)
    >>> ds = DawidSkene().fit(copied.annotations)
    >>> fewer = drop_copies(ds, copied.annotations)  # worker 12 copied worker 5: it goes
    >>> fewer.n_answers - sim.annotations.n_answers, fewer.n_workers
    (169, 13)
    """
    ann = _checked(estimator, annotations, min_shared, min_z, min_agreement)
    keys, shared, agreed, _, z = _pair_statistics(estimator, ann)
    flagged = keys[_flagged(shared, agreed, z, min_shared, min_z, min_agreement)]
    n_w = ann.n_workers
    group = np.arange(n_w)  # union-find over the reported pairs: group[w] = w's root
    for key in flagged.tolist():
        a, b = _root(group, key // n_w), _root(group, key % n_w)
        group[max(a, b)] = min(a, b)
    roots = np.asarray([_root(group, w) for w in range(n_w)])
    answers = np.bincount(ann.workers, minlength=n_w)
    # The keeper of a group: most answers, then the smallest code.
    order = np.lexsort((np.arange(n_w), -answers, roots))
    first = np.ones(n_w, dtype=bool)
    first[1:] = roots[order][1:] != roots[order][:-1]
    keeper = np.empty(n_w, dtype=np.int64)
    keeper[roots[order][first]] = order[first]
    kept_by = keeper[roots]  # for every worker, the keeper of its group
    kept = kept_by[ann.workers]  # the keeper of each answer's worker
    item_keys = ann.items.astype(np.int64) * n_w
    keeper_answers = (item_keys + ann.workers)[kept == ann.workers]
    duplicate = (kept != ann.workers) & np.isin(item_keys + kept, keeper_answers)
    keep = ~duplicate
    left, workers = np.unique(ann.workers[keep], return_inverse=True)
    return Annotations.from_codes(
        ann.items[keep],
        workers,
        ann.labels[keep],
        classes=ann.classes,
        item_ids=ann.item_ids,
        worker_ids=ann.worker_ids[left],
    )


def _root(group: NDArray[Any], w: int) -> int:
    while group[w] != w:
        w = int(group[w])
    return w


def _checked(
    estimator: Any, annotations: Any, min_shared: Any, min_z: Any, min_agreement: Any
) -> Annotations:
    """Check the estimator, the annotations and the thresholds; return the annotations."""
    check_fitted(estimator)
    if not hasattr(estimator, "confusions_"):
        raise InvalidParameterError(
            "estimator", type(estimator).__name__, "a fitted estimator with confusions_"
        )
    check_count("min_shared", min_shared, 1)
    check_real("min_z", min_z, finite=False)  # -inf keeps every pair; NaN is refused
    check_real("min_agreement", min_agreement, 0.0, 1.0)
    ann = annotations_of(estimator, annotations)
    if ann is None:
        raise InvalidParameterError(
            "annotations", None, f"the annotations a {type(estimator).__name__} was fitted on"
        )
    if not np.array_equal(np.asarray(estimator.worker_ids_), ann.worker_ids):
        raise AnnotationError("the annotations' workers differ from the estimator's workers")
    return ann


#: Above this many pairs of answers to the same item (about 120 bytes each at the peak), the
#: worker report leaves out its ``correlated`` flag; :func:`copying_pairs` still computes them.
REPORT_MAX_PAIRS = 10_000_000


def answer_pairs(ann: Any) -> int:
    """Return the number of pairs of answers to the same item (what the pair statistics cost)."""
    per_item = np.bincount(ann.items).astype(np.int64)
    return int((per_item * (per_item - 1) // 2).sum())


def correlated_workers(estimator: Any, ann: Any) -> set[int]:
    """Return the codes of the workers in a pair that :func:`copying_pairs` reports by default.

    Empty above :data:`REPORT_MAX_PAIRS` pairs of answers: the report stays cheap.
    """
    if answer_pairs(ann) > REPORT_MAX_PAIRS:
        return set()
    keys, shared, agreed, _, z = _pair_statistics(estimator, ann)
    flagged = keys[_flagged(shared, agreed, z, _MIN_SHARED, _MIN_Z, _MIN_AGREEMENT)]
    return set((flagged // ann.n_workers).tolist()) | set((flagged % ann.n_workers).tolist())


def _pair_statistics(estimator: Any, ann: Any) -> tuple[NDArray[Any], ...]:
    """Return the pairs' keys and their shared items, agreements, expectation and z-score.

    A pair of worker codes ``a < b`` has the key ``a * n_workers + b``; keys increase.
    """
    conf = np.asarray(estimator.confusions_, dtype=np.float64)
    post = np.asarray(estimator.posteriors_, dtype=np.float64)
    items, workers, labels, _ = ann.sorted_by_item()
    first, second = _pairs_of_answers(items, workers)
    a, b = workers[first].astype(np.int64), workers[second].astype(np.int64)
    swap = a > b
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    keys, pair_of = np.unique(a * ann.n_workers + b, return_inverse=True)
    same = (labels[first] == labels[second]).astype(np.float64)
    p = _expected_agreement(conf, post, items[first], a, b)
    n_pairs = keys.size
    shared = np.bincount(pair_of, minlength=n_pairs)
    agreed = np.bincount(pair_of, weights=same, minlength=n_pairs)
    expected = np.bincount(pair_of, weights=p, minlength=n_pairs)
    variance = np.bincount(pair_of, weights=p * (1.0 - p), minlength=n_pairs)
    z = (agreed - expected) / np.sqrt(np.maximum(variance, 1e-12))
    return keys, shared, agreed, expected, z


def _flagged(
    shared: NDArray[Any],
    agreed: NDArray[Any],
    z: NDArray[Any],
    min_shared: int,
    min_z: float,
    min_agreement: float,
) -> NDArray[np.intp]:
    """Return the indices of the pairs over every threshold, by decreasing z-score."""
    keep = np.flatnonzero(
        (shared >= min_shared) & (z >= min_z) & (agreed >= min_agreement * shared)
    )
    return keep[np.argsort(-z[keep], kind="stable")]


def _pairs_of_answers(
    items: NDArray[Any], workers: NDArray[Any]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every pair of answers to the same item, by two different workers (answers sorted by item)."""
    firsts, seconds = [], []
    n = items.size
    d = 1
    while d < n:
        j = np.arange(n - d)
        together = items[j] == items[j + d]
        if not together.any():
            break  # no item has more than d answers
        same = together & (workers[j] != workers[j + d])  # a repeated answer is not a pair
        firsts.append(j[same])
        seconds.append(j[same] + d)
        d += 1
    if not firsts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(firsts).astype(np.int64), np.concatenate(seconds).astype(np.int64)


def _expected_agreement(
    conf: F64, post: F64, items: NDArray[Any], a: NDArray[np.int64], b: NDArray[np.int64]
) -> F64:
    """``sum_t post[i, t] sum_l conf[a, t, l] conf[b, t, l]`` for every pair-item, in chunks."""
    k = conf.shape[1]
    out = np.empty(items.size)
    step = max(1, _CHUNK_CELLS // (k * k))
    for lo in range(0, items.size, step):
        hi = lo + step
        both = np.einsum("ptl,ptl->pt", conf[a[lo:hi]], conf[b[lo:hi]])
        out[lo:hi] = np.einsum("pt,pt->p", post[items[lo:hi]], both)
    return np.clip(out, 0.0, 1.0)
