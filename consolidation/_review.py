"""Which items to send to a human review, and which would gain most from one more answer.

Public through :mod:`consolidation.quality`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._base import annotations_of, check_fitted
from ._checks import check_count, check_real
from ._errors import InvalidParameterError

__all__ = ["TIE_TOL", "AnswerGain", "ReviewItem", "next_answer_gain", "review_queue"]

TIE_TOL = 1e-12  # posteriors within this of the maximum are tied
F64 = NDArray[np.float64]


@dataclass(frozen=True)
class ReviewItem:
    """An item to send to a human, with why.

    ``reason`` is ``"tie"`` (the top posterior is shared), ``"disagreement"`` (the label
    overrules the workers' plurality vote) or ``"low_posterior"``.

    Examples
    --------
    >>> from consolidation import MajorityVote
    >>> rows = [("a", "w1", "x"), ("a", "w2", "y"), ("b", "w1", "x"), ("b", "w2", "x")]
    >>> review_queue(MajorityVote(tie_break="first").fit(rows), annotations=rows)
    [ReviewItem(item_id='a', label='x', confidence=0.5, reason='tie', runner_up='y', margin=0.0,
                n_answers=2)]
    """

    item_id: Any
    label: Any
    confidence: float
    reason: str
    runner_up: Any
    margin: float
    n_answers: int | None


@dataclass(frozen=True)
class AnswerGain:
    """Expected benefit of one more answer on an item (see :func:`next_answer_gain`).

    Examples
    --------
    Item ``a`` is a tie; one more answer from a worker who agrees with the consensus 3 times
    in 4 would lower its error probability from 0.5 to 0.25:

    >>> from consolidation import MajorityVote
    >>> rows = [("a", "w1", "x"), ("a", "w2", "y"), ("b", "w1", "x"), ("b", "w2", "x")]
    >>> g = next_answer_gain(MajorityVote(tie_break="first").fit(rows), rows)[0]
    >>> g.item_id, g.label, g.confidence, g.gain, round(g.entropy_gain, 3)
    ('a', 'x', 0.5, 0.25, 0.131)
    """

    item_id: Any
    label: Any
    confidence: float
    gain: float
    entropy_gain: float


def _top_two(post: F64) -> tuple[NDArray[np.intp], NDArray[np.intp], F64]:
    order = np.argsort(-post, axis=1, kind="stable")
    rows = np.arange(post.shape[0])
    first, second = order[:, 0], order[:, 1]
    return first, second, post[rows, first] - post[rows, second]


def review_queue(
    estimator: Any,
    threshold: float | None = 0.9,
    budget: int | None = None,
    annotations: Any = None,
) -> list[ReviewItem]:
    """Items that need a human review, least certain first.

    Parameters
    ----------
    estimator : fitted estimator
    threshold : float or None, default 0.9
        Queue items whose ``confidence_`` is below this (None: every item is a candidate).
    budget : int, optional
        Keep at most this many: the least certain (lowest confidence, then smallest margin over
        the runner-up, then item order).
    annotations : optional
        The answers (for the ``disagreement`` reason and ``n_answers``); see :func:`worker_report`.

    Returns
    -------
    list of ReviewItem

    Examples
    --------
    >>> from consolidation import MajorityVote
    >>> rows = [("a", "w1", "x"), ("a", "w2", "y"), ("b", "w1", "x"), ("b", "w2", "x"),
    ...         ("c", "w1", "y"), ("c", "w2", "y"), ("c", "w3", "x")]
    >>> mv = MajorityVote(tie_break="first").fit(rows)
    >>> [(r.item_id, r.reason) for r in review_queue(mv, threshold=0.9, annotations=rows)]
    [('a', 'tie'), ('c', 'low_posterior')]
    """
    check_fitted(estimator)
    if threshold is not None:
        check_real("threshold", threshold, 0.0, 1.0)
    if budget is not None:
        check_count("budget", budget, 0)
    ann = annotations_of(estimator, annotations)
    post = np.asarray(estimator.posteriors_, dtype=np.float64)
    conf = np.asarray(estimator.confidence_, dtype=np.float64)
    codes = np.asarray(estimator.label_codes_)
    first, second, margin = _top_two(post)
    tied = margin <= TIE_TOL
    votes = None
    if ann is not None:
        votes = ann.vote_counts()
    elif hasattr(estimator, "votes_"):
        votes = np.asarray(estimator.votes_)
    n_answers = None if ann is None else np.bincount(ann.items, minlength=ann.n_items)
    candidates = np.arange(post.shape[0]) if threshold is None else np.flatnonzero(conf < threshold)
    order = candidates[np.lexsort((candidates, margin[candidates], conf[candidates]))]
    if budget is not None:
        order = order[: int(budget)]
    classes = estimator.classes_
    out = []
    for i in order.tolist():
        if tied[i]:
            reason = "tie"
        elif votes is not None and votes[i, codes[i]] < votes[i].max():
            reason = "disagreement"
        else:
            reason = "low_posterior"
        runner = second[i] if first[i] == codes[i] else first[i]
        out.append(
            ReviewItem(
                estimator.item_ids_[i].item()
                if isinstance(estimator.item_ids_[i], np.generic)
                else estimator.item_ids_[i],
                classes[codes[i]].item()
                if isinstance(classes[codes[i]], np.generic)
                else classes[codes[i]],
                float(conf[i]),
                reason,
                classes[runner].item()
                if isinstance(classes[runner], np.generic)
                else classes[runner],
                float(margin[i]),
                None if n_answers is None else int(n_answers[i]),
            )
        )
    return out


def _typical_confusion(estimator: Any, annotations: Any) -> F64:
    """Answer-weighted mean confusion of the workers (one-coin at mean agreement for MV)."""
    k = len(estimator.classes_)
    if hasattr(estimator, "confusions_"):
        conf = np.asarray(estimator.confusions_, dtype=np.float64)
        weights = None
        if hasattr(estimator, "worker_state_"):
            state = estimator.worker_state_
            weights = state.n_answers[state.lookup(estimator.worker_ids_.tolist())]
        if weights is None or weights.sum() <= 0:
            weights = np.ones(conf.shape[0])
        mean: F64 = np.tensordot(weights / weights.sum(), conf, axes=1)
        return mean
    ann = annotations_of(estimator, annotations)
    if ann is None:
        a = float(np.mean(estimator.confidence_))
    else:
        a = float(np.mean(ann.labels == np.asarray(estimator.label_codes_)[ann.items]))
    a = min(max(a, 1.0 / k + 1e-6), 1.0 - 1e-6)
    return np.full((k, k), (1.0 - a) / (k - 1)) + np.eye(k) * (a - (1.0 - a) / (k - 1))


def _entropy(p: F64) -> F64:
    h: F64 = -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=-1)
    return h


def next_answer_gain(
    estimator: Any,
    annotations: Any = None,
    *,
    confusion: ArrayLike | None = None,
    chunk: int = 65536,
) -> list[AnswerGain]:
    """Rank items by the expected benefit of one more answer from a typical worker.

    With ``C`` the typical worker's confusion (the answer-weighted mean of ``confusions_``; a
    one-coin worker at the mean agreement for majority vote) and ``p`` an item's posterior, one
    more answer ``l`` has probability ``P(l) = sum_t p_t C[t, l]`` and gives the posterior
    ``p'_t ~ p_t C[t, l]``. ``gain`` is the expected fall of the error probability
    ``1 - max p``: ``sum_l max_t p_t C[t, l] - max_t p_t`` (0 when no single answer can change
    the label); ``entropy_gain`` is the expected fall of the posterior entropy (the mutual
    information between the answer and the true class), used to order equal gains.

    Parameters
    ----------
    estimator : fitted estimator
    annotations : optional
        Only used by majority vote (mean agreement).
    confusion : array_like of shape (K, K), optional
        The answering worker's confusion matrix, if known.
    chunk : int, default 65536
        Items processed at once (memory ``chunk * K * K`` floats).

    Returns
    -------
    list of AnswerGain
        Highest gain first (ties: higher entropy gain, then item order).

    Examples
    --------
    >>> from consolidation import MajorityVote
    >>> rows = [("a", "w1", "x"), ("a", "w2", "y"), ("b", "w1", "x"), ("b", "w2", "x")]
    >>> mv = MajorityVote(tie_break="first").fit(rows)
    >>> [g.item_id for g in next_answer_gain(mv, rows)]
    ['a', 'b']
    """
    check_fitted(estimator)
    chunk = check_count("chunk", chunk, 1)
    post = np.asarray(estimator.posteriors_, dtype=np.float64)
    k = post.shape[1]
    c = (
        _typical_confusion(estimator, annotations)
        if confusion is None
        else np.asarray(confusion, dtype=np.float64)
    )
    if c.shape != (k, k) or not np.all(np.isfinite(c)) or np.any(c < 0):
        raise InvalidParameterError("confusion", f"shape {c.shape}", f"a non-negative ({k}, {k})")
    c = c / np.maximum(c.sum(axis=1, keepdims=True), 1e-300)
    gain = np.empty(post.shape[0])
    info = np.empty(post.shape[0])
    for start in range(0, post.shape[0], chunk):
        p = post[start : start + chunk]
        joint = p[:, :, None] * c[None, :, :]  # (n, t, l)
        p_l = joint.sum(axis=1)  # (n, l)
        gain[start : start + chunk] = joint.max(axis=1).sum(axis=1) - p.max(axis=1)
        cond = joint / np.maximum(p_l[:, None, :], 1e-300)
        after = (p_l * _entropy(np.swapaxes(cond, 1, 2))).sum(axis=1)
        info[start : start + chunk] = _entropy(p) - after
    np.maximum(gain, 0.0, out=gain)
    np.maximum(info, 0.0, out=info)
    order = np.lexsort((np.arange(gain.size), -np.round(info, 12), -np.round(gain, 12)))
    conf = np.asarray(estimator.confidence_)
    ids, labels = estimator.item_ids_, estimator.labels_
    return [
        AnswerGain(
            ids[i].item() if isinstance(ids[i], np.generic) else ids[i],
            labels[i].item() if isinstance(labels[i], np.generic) else labels[i],
            float(conf[i]),
            float(gain[i]),
            float(info[i]),
        )
        for i in order.tolist()
    ]
