"""Scoring labels against gold: accuracy with split ties, calibration error, the gold temperature.

Re-exported by :mod:`.quality`, which is where users find them.

References
----------
C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On calibration of modern neural networks", ICML
2017 (expected calibration error over equal-width confidence bins; temperature scaling).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._base import check_fitted
from ._checks import check_count
from ._errors import InvalidParameterError
from ._review import TIE_TOL
from ._temperature import fit_temperature_codes

__all__ = [
    "Calibration",
    "CalibrationBin",
    "accuracy",
    "calibration",
    "fit_temperature",
    "gold_codes",
    "tie_credit",
]

F64 = NDArray[np.float64]


# ------------------------------------------------------------------------------------ accuracy
def tie_credit(posteriors: ArrayLike, gold: ArrayLike, *, tol: float = TIE_TOL) -> F64:
    """Credit per item: ``1/m`` when the gold class is among the ``m`` classes tied at the top.

    Parameters
    ----------
    posteriors : array_like of shape (n, K)
        Posterior (or vote-share) rows.
    gold : array_like of int, shape (n,)
        Gold class codes; a negative code (a label outside the classes) earns 0.
    tol : float, default 1e-12
        Classes within ``tol`` of the row maximum are tied.

    Returns
    -------
    ndarray of shape (n,)

    Examples
    --------
    >>> tie_credit([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]], [1, 0, 0]).tolist()
    [0.5, 1.0, 0.0]
    """
    post = np.asarray(posteriors, dtype=np.float64)
    codes = np.asarray(gold, dtype=np.int64)
    if post.ndim != 2 or codes.shape != (post.shape[0],):
        raise InvalidParameterError("gold", f"shape {codes.shape}", f"shape ({post.shape[0]},)")
    if not np.isfinite(post).all():
        raise InvalidParameterError("posteriors", "values not finite", "finite values")
    top = post >= post.max(axis=1, keepdims=True) - tol
    hit = np.zeros(codes.size)
    ok = (codes >= 0) & (codes < post.shape[1])
    hit[ok] = top[np.flatnonzero(ok), codes[ok]]
    credit: F64 = hit / top.sum(axis=1)
    return credit


def gold_codes(estimator: Any, gold: Mapping[Any, Any]) -> tuple[NDArray[np.intp], NDArray[Any]]:
    """Align gold labels with a fitted estimator's items.

    Parameters
    ----------
    estimator : fitted estimator
        Uses ``item_ids_`` and ``classes_``.
    gold : mapping
        Item id -> gold class value. Items without answers are ignored.

    Returns
    -------
    rows : ndarray of int
        Rows of ``posteriors_`` that have a gold label, in item order.
    codes : ndarray of int
        Their gold class codes (-1 for a value that is not one of ``classes_``).

    Examples
    --------
    >>> from consolidation import MajorityVote
    >>> mv = MajorityVote().fit([("a", "w", "x"), ("b", "w", "y")])
    >>> rows, codes = gold_codes(mv, {"b": "y", "c": "x"})
    >>> rows.tolist(), codes.tolist()
    ([1], [1])
    """
    check_fitted(estimator)
    index = {c: k for k, c in enumerate(estimator.classes_.tolist())}
    rows, codes = [], []
    for row, item in enumerate(estimator.item_ids_.tolist()):
        if item in gold:
            rows.append(row)
            codes.append(index.get(gold[item], -1))
    return np.asarray(rows, dtype=np.intp), np.asarray(codes, dtype=np.intp)


def accuracy(estimator: Any, gold: Mapping[Any, Any], *, ties: str = "split") -> float:
    """Share of gold items labelled correctly.

    Parameters
    ----------
    estimator : fitted estimator
        Any single-label consolidator.
    gold : mapping
        Item id -> gold class value; gold items that received no answer are ignored.
    ties : {"split", "label"}, default "split"
        ``"split"`` credits an item whose top posterior is shared by ``m`` classes (within 1e-12)
        ``1/m`` when the gold class is among them, whatever tie-break the estimator applied;
        ``"label"`` scores ``labels_`` as they are.

    Returns
    -------
    float
        NaN when no gold item has answers.

    Examples
    --------
    >>> from consolidation import MajorityVote
    >>> mv = MajorityVote(seed=0).fit([("a", "w1", "x"), ("a", "w2", "y"), ("b", "w1", "y")])
    >>> accuracy(mv, {"a": "x", "b": "y"})
    0.75
    """
    if ties not in ("split", "label"):
        raise InvalidParameterError("ties", ties, "'split' or 'label'")
    rows, codes = gold_codes(estimator, gold)
    if rows.size == 0:
        return float("nan")
    if ties == "label":
        return float(np.mean(np.asarray(estimator.label_codes_)[rows] == codes))
    return float(np.mean(tie_credit(np.asarray(estimator.posteriors_)[rows], codes)))


# ---------------------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class CalibrationBin:
    """One reliability bin: confidences in ``[lower, upper)`` (the last bin includes 1)."""

    lower: float
    upper: float
    count: int
    confidence: float  # mean confidence in the bin (NaN when empty)
    accuracy: float  # mean (tie-credited) correctness in the bin (NaN when empty)


@dataclass(frozen=True)
class Calibration:
    """Expected calibration error and the reliability diagram behind it.

    Attributes
    ----------
    ece : float
        ``sum_b n_b / n * |accuracy_b - confidence_b|`` over equal-width bins.
    mce : float
        Largest ``|accuracy_b - confidence_b|`` over non-empty bins.
    brier : float
        Mean multi-class Brier score ``sum_k (p_k - [k = gold])^2``.
    n : int
        Items scored.
    bins : tuple of CalibrationBin

    Examples
    --------
    >>> cal = calibration([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]], [0, 0, 0, 1])
    >>> round(cal.ece, 3), round(cal.mce, 3), round(cal.brier, 3), cal.n
    (0.1, 0.1, 0.27, 4)
    >>> [(b.lower, b.count, b.confidence, b.accuracy) for b in cal.bins if b.count]
    [(0.6, 2, 0.6, 0.5), (0.9, 2, 0.9, 1.0)]
    """

    ece: float
    mce: float
    brier: float
    n: int
    bins: tuple[CalibrationBin, ...]


def _scored_rows(posteriors: Any, gold: Any) -> tuple[F64, NDArray[np.intp]]:
    """Posterior rows of the gold items and their gold codes (see :func:`calibration`).

    A code ``>= K`` is a gold class outside the posteriors' classes, scored as an error (no
    posterior mass can be on it); with an estimator, a gold label outside its classes gets code
    ``K``. With arrays, negative codes are skipped.
    """
    if hasattr(posteriors, "posteriors_"):
        if not isinstance(gold, Mapping):
            raise InvalidParameterError("gold", type(gold).__name__, "a mapping item -> label")
        rows, codes = gold_codes(posteriors, gold)
        post = np.asarray(posteriors.posteriors_, dtype=np.float64)[rows]
        return post, np.where(codes < 0, post.shape[1], codes)
    try:
        post = np.asarray(posteriors, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError("posteriors", posteriors, "an (n, K) array") from exc
    raw = np.asarray(gold)
    if post.ndim != 2 or raw.shape != (post.shape[0],):
        raise InvalidParameterError(
            "posteriors", f"shape {post.shape}", "an (n, K) array aligned with gold (n,)"
        )
    if not np.isfinite(post).all() or (post < 0).any():
        raise InvalidParameterError("posteriors", "values not finite or < 0", "finite values >= 0")
    whole = raw.dtype.kind in "iu" or (
        raw.dtype.kind in "fb" and np.isfinite(raw).all() and (raw == np.round(raw)).all()
    )
    if not whole:
        raise InvalidParameterError(
            "gold", f"values of dtype {raw.dtype}", "integer class codes (negative = unknown)"
        )
    codes = raw.astype(np.intp)
    keep = codes >= 0
    return post[keep], codes[keep]


def fit_temperature(posteriors: Any, gold: Any) -> float:
    """Fit the temperature that makes posteriors calibrated on items with known answers.

    Posteriors of crowd models are overconfident on real crowds (workers are not independent).
    Given gold labels for a sample of items, this returns ``T`` minimising the Brier score of
    :func:`temper`-ed posteriors, searched over ``[0.05, 100]``; apply it to every item with
    ``temper(est.posteriors_, T)``. Labels do not change. On the 22 real data sets, ``T`` fitted
    on a random 20% of the gold items lowers the default estimator's ECE on the other 80% from
    0.113 to 0.043 on average (``python -m benchmarks.bench_accuracy``, columns ECE_80, ECE_T80).

    Parameters
    ----------
    posteriors : array_like of shape (n, K), or a fitted estimator
        As in :func:`calibration`.
    gold : array_like of int, shape (n,), or a mapping
        As in :func:`calibration`: codes aligned with the rows (negative = unknown), or with an
        estimator a mapping item id -> gold class value.

    Returns
    -------
    float
        The temperature (> 1 flattens, < 1 sharpens).

    Raises
    ------
    InvalidParameterError
        When no row has a gold label.

    Examples
    --------
    >>> from consolidation.quality import temper
    >>> post = [[0.99, 0.01]] * 6 + [[0.01, 0.99]] * 4  # 99% sure, but 30% wrong
    >>> T = fit_temperature(post, [0, 0, 0, 0, 1, 1, 1, 1, 1, 0])
    >>> round(float(temper(post, T)[0, 0]), 2)  # confident rows now say what they are worth
    0.7
    """
    post, codes = _scored_rows(posteriors, gold)
    if codes.size == 0:
        raise InvalidParameterError("gold", "no gold item", "at least one row with a gold label")
    return fit_temperature_codes(post, codes)


def calibration(posteriors: Any, gold: Any, n_bins: int = 10) -> Calibration:
    """Compute the expected calibration error (ECE) of the maximum posterior, with its bins.

    Parameters
    ----------
    posteriors : array_like of shape (n, K), or a fitted estimator
        Posterior rows (``confidence`` = row maximum, prediction = argmax).
    gold : array_like of int, shape (n,), or a mapping
        Gold class codes aligned with the rows (negative codes are skipped; a code ``>= K``, a
        class outside the posteriors', counts as an error); with an estimator, a mapping item id
        -> gold class value (a value outside its classes counts as an error too).
    n_bins : int, default 10
        Equal-width confidence bins over [0, 1].

    Returns
    -------
    Calibration

    Raises
    ------
    InvalidParameterError
        When no row has a gold label, posteriors are not finite and non-negative, or gold codes
        are not integers.

    Examples
    --------
    >>> cal = calibration([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]], [0, 0, 0, 1])
    >>> round(cal.ece, 3), [b.count for b in cal.bins if b.count]
    (0.1, [2, 2])
    """
    n_bins = check_count("n_bins", n_bins, 1)  # a plain int: bin edges are Python floats
    post, codes = _scored_rows(posteriors, gold)
    n = int(codes.size)
    if n == 0:
        raise InvalidParameterError("gold", "no gold item", "at least one row with a gold label")
    conf = post.max(axis=1)
    correct = tie_credit(post, codes)
    onehot = np.zeros_like(post)
    ok = codes < post.shape[1]
    onehot[np.flatnonzero(ok), codes[ok]] = 1.0
    # A gold class outside the K classes adds its own squared error: (0 - 1)**2.
    brier = float(np.mean(((post - onehot) ** 2).sum(axis=1) + ~ok))
    which = np.minimum((conf * n_bins).astype(np.intp), n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    sum_conf = np.bincount(which, weights=conf, minlength=n_bins)
    sum_ok = np.bincount(which, weights=correct, minlength=n_bins)
    bins = []
    ece = mce = 0.0
    for b in range(n_bins):
        if count[b]:
            c, a = sum_conf[b] / count[b], sum_ok[b] / count[b]
            ece += count[b] / n * abs(a - c)
            mce = max(mce, abs(a - c))
        else:
            c = a = float("nan")
        bins.append(CalibrationBin(b / n_bins, (b + 1) / n_bins, int(count[b]), float(c), float(a)))
    return Calibration(float(ece), float(mce), brier, n, tuple(bins))
