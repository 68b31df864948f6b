"""Whom and what to trust: worker reports, copying pairs, calibration, accuracy, a review queue.

Every function takes a fitted single-label estimator (:class:`~consolidation.MajorityVote`,
:class:`~consolidation.DawidSkene`, :class:`~consolidation.ModifiedDawidSkene` or the default
estimator) and, where per-answer information is needed, the annotations it was fitted on.
Estimators that keep a reference to their answers (``annotations_``, as the default estimator
does) need no second argument.

References
----------
V. C. Raykar and S. Yu, "Eliminating spammers and ranking annotators for crowdsourced labeling
tasks", JMLR 13:491-518, 2012 (the spammer score).
C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On calibration of modern neural networks", ICML
2017 (expected calibration error over equal-width confidence bins; temperature scaling).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._base import annotations_of, check_fitted
from ._checks import check_count, check_real
from ._copying import CopyingPair, copying_pairs, correlated_workers, drop_copies
from ._errors import AnnotationError, InvalidParameterError
from ._review import AnswerGain, ReviewItem, next_answer_gain, review_queue
from ._scoring import (
    Calibration,
    CalibrationBin,
    accuracy,
    calibration,
    fit_temperature,
    gold_codes,
    tie_credit,
)
from ._temperature import self_temperature, temper

__all__ = [
    "AnswerGain",
    "Calibration",
    "CalibrationBin",
    "CopyingPair",
    "ReviewItem",
    "WorkerReport",
    "WorkerRow",
    "accuracy",
    "calibration",
    "copying_pairs",
    "drop_copies",
    "fit_temperature",
    "gold_codes",
    "next_answer_gain",
    "plot_confusions",
    "review_queue",
    "self_temperature",
    "spammer_score",
    "temper",
    "tie_credit",
    "worker_report",
]

F64 = NDArray[np.float64]


# ------------------------------------------------------------------------------- worker report
def spammer_score(confusions: ArrayLike) -> F64:
    """Raykar & Yu (2012) spammer score of confusion matrices (rows = true class).

    ``s = 1 / (K (K - 1)) * sum_{k < k'} sum_l (C[k, l] - C[k', l])^2``: the squared distance to
    the nearest rank-one matrix (identical rows: answers that ignore the truth). 0 for a spammer
    (uniform or always-the-same-class), 1 for a perfect worker (or a perfect permutation).

    Parameters
    ----------
    confusions : array_like of shape (K, K) or (n, K, K)

    Returns
    -------
    ndarray of shape () or (n,)

    Examples
    --------
    >>> spammer_score([[0.5, 0.5], [0.5, 0.5]]).item(), spammer_score(np.eye(3)).item()
    (0.0, 1.0)
    """
    c = np.asarray(confusions, dtype=np.float64)
    k = c.shape[-1]
    diff = c[..., :, None, :] - c[..., None, :, :]  # all ordered pairs: twice each k < k'
    score: F64 = (diff**2).sum(axis=(-3, -2, -1)) / (2.0 * k * (k - 1))
    return score


@dataclass(frozen=True)
class WorkerRow:
    """One worker in a :class:`WorkerReport`.

    Attributes
    ----------
    worker_id : object
    n_answers : int
    accuracy : float
        Estimated share of the worker's answers that are correct: the posterior mass of the answered
        class, averaged over the worker's answers (majority vote: agreement with the consensus).
    agreement : float
        Share of the worker's answers equal to the consensus label (NaN when unknown).
    spammer_score : float
        :func:`spammer_score` of the worker's confusion matrix (for majority vote: of the empirical
        matrix against the vote shares).
    confusion : ndarray of shape (K, K) or None
        The model's confusion matrix (rows = true class); None for majority vote.
    flags : tuple of str
        ``few_answers``, ``spammer``, ``hammer``, ``adversarial``, ``unreliable``.
    """

    worker_id: Any
    n_answers: int
    accuracy: float
    agreement: float
    spammer_score: float
    confusion: F64 | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class WorkerReport(Sequence[WorkerRow]):
    """Per-worker quality: a sequence of :class:`WorkerRow` in the estimator's worker order.

    Built by :func:`worker_report`; ``classes`` and ``method`` (the estimator's class name)
    describe the fit.

    Examples
    --------
    >>> from consolidation import DawidSkene
    >>> rows = [(i, w, i % 2) for i in range(40) for w in ("a", "b", "c")]
    >>> rows += [(i, "s", 0) for i in range(40)]  # always answers 0
    >>> report = worker_report(DawidSkene(backend="numpy").fit(rows), rows)
    >>> len(report), report.method, [r.worker_id for r in report.flagged("spammer")]
    (4, 'DawidSkene', ['s'])
    >>> worst = report.to_rows()[0]
    >>> worst["worker"], worst["answers"], round(worst["accuracy"], 2), worst["flags"]
    ('s', 40, 0.5, 'spammer;hammer')
    """

    rows: tuple[WorkerRow, ...]
    classes: tuple[Any, ...]
    method: str

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[WorkerRow]:
        return iter(self.rows)

    def __getitem__(self, index: Any) -> Any:
        return self.rows[index]

    def flagged(self, flag: str | None = None) -> list[WorkerRow]:
        """Rows with any flag, or with ``flag``."""
        return [r for r in self.rows if (flag in r.flags if flag else r.flags)]

    def to_rows(self, *, confusion: bool = False) -> list[dict[str, Any]]:
        """Plain dicts, worst accuracy first (ties: more answers first, then worker id).

        With ``confusion=True`` each row also has ``p[t->l]`` columns (rows = true class).
        """
        out = []
        order = sorted(
            self.rows, key=lambda r: (_nan_last(r.accuracy), -r.n_answers, str(r.worker_id))
        )
        names = [str(c) for c in self.classes]
        for r in order:
            row: dict[str, Any] = {
                "worker": r.worker_id,
                "answers": r.n_answers,
                "accuracy": r.accuracy,
                "agreement": r.agreement,
                "spammer_score": r.spammer_score,
                "flags": ";".join(r.flags),
            }
            if confusion:
                for t, tn in enumerate(names):
                    for j, ln in enumerate(names):
                        key = f"p[{tn}->{ln}]"
                        row[key] = float("nan") if r.confusion is None else r.confusion[t, j]
            out.append(row)
        return out

    def to_csv(self, path: str | os.PathLike[str] | IO[str]) -> None:
        """Write :meth:`to_rows` with the confusion columns as CSV to a path or a text stream.

        A stream is written to and left open (open it with ``newline=""``).
        """
        if not isinstance(path, str | os.PathLike):
            self._write_csv(path)
            return
        with open(path, "w", newline="", encoding="utf-8") as fh:
            self._write_csv(fh)

    def _write_csv(self, out: IO[str]) -> None:
        rows = self.to_rows(confusion=True)
        fields = list(rows[0]) if rows else ["worker"]
        writer = csv.DictWriter(out, fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})


def _nan_last(x: float) -> float:
    return float("inf") if not np.isfinite(x) else x


def _csv_cell(v: Any) -> Any:
    if isinstance(v, float):
        return "" if not np.isfinite(v) else f"{v:.6g}"
    return v


def worker_report(
    estimator: Any,
    annotations: Any = None,
    *,
    min_answers: int = 5,
    spammer_threshold: float = 0.05,
    min_accuracy: float | None = None,
) -> WorkerReport:
    """Per-worker answers, estimated accuracy and confusion, agreement, spammer score and flags.

    Parameters
    ----------
    estimator : fitted estimator
        Majority vote or an EM consolidator (with ``worker_ids_`` and ``confusions_``).
    annotations : Annotations or rows, optional
        The answers the estimator was fitted on. Needed for majority vote and for agreement with
        the consensus; estimators with ``annotations_`` (the default estimator) keep their own.
        Without them an EM estimator's counts come from ``worker_state_`` and agreement is NaN.
    min_answers : int, default 5
        Workers with fewer answers are flagged ``few_answers`` (their estimates are mostly prior).
    spammer_threshold : float, default 0.05
        Spammer score below which a worker with enough answers is flagged ``spammer`` (and
        ``hammer`` when 90% or more of the answers are one class).
    min_accuracy : float, optional
        Accuracy below which a worker is flagged ``unreliable``; default halfway between chance
        ``1/K`` and 1. A worker below chance with a high spammer score is ``adversarial``.
        With the annotations and a model, a worker in a pair that :func:`copying_pairs` reports
        is also flagged ``correlated``: it agrees with another worker far more often than
        independent workers would (left out above 10 million pairs of answers to the same
        item, which would cost memory; call :func:`copying_pairs` for those).

    Returns
    -------
    WorkerReport

    Examples
    --------
    >>> from consolidation import DawidSkene
    >>> rows = [(i, w, i % 2) for i in range(40) for w in ("a", "b", "c")]
    >>> rows += [(i, "s", 0) for i in range(40)]  # always answers 0
    >>> ds = DawidSkene(backend="numpy").fit(rows)
    >>> report = worker_report(ds, rows)
    >>> [(r.worker_id, r.flags) for r in report]
    [('a', ()), ('b', ()), ('c', ()), ('s', ('spammer', 'hammer'))]
    """
    check_fitted(estimator)
    min_answers = check_count("min_answers", min_answers, 0)
    spammer_threshold = check_real("spammer_threshold", spammer_threshold, 0.0, 1.0)
    if min_accuracy is not None:
        min_accuracy = check_real("min_accuracy", min_accuracy, 0.0, 1.0)
    ann = annotations_of(estimator, annotations)
    k = len(estimator.classes_)
    post = np.asarray(estimator.posteriors_, dtype=np.float64)
    codes = np.asarray(estimator.label_codes_)
    has_model = hasattr(estimator, "confusions_") and hasattr(estimator, "worker_ids_")
    if ann is None and not has_model:
        raise InvalidParameterError(
            "annotations", None, f"the annotations a {type(estimator).__name__} was fitted on"
        )
    if ann is not None:
        workers, items, labels = ann.workers, ann.items, ann.labels
        worker_ids = ann.worker_ids
        n_w = ann.n_workers
        n = np.bincount(workers, minlength=n_w)
        soft = np.zeros((n_w, k, k))  # (w, true, answered) soft counts
        for t in range(k):
            soft[:, t, :] = np.bincount(
                workers.astype(np.int64) * k + labels, weights=post[items, t], minlength=n_w * k
            ).reshape(n_w, k)
        agree = np.bincount(workers, weights=labels == codes[items], minlength=n_w)
        agreement = agree / np.maximum(n, 1)
        top_share = np.bincount(workers.astype(np.int64) * k + labels, minlength=n_w * k).reshape(
            n_w, k
        ).max(axis=1) / np.maximum(n, 1)
    else:
        state = estimator.worker_state_
        worker_ids = estimator.worker_ids_
        rows_ = state.lookup(worker_ids.tolist())
        soft = state.counts[rows_]
        n = state.n_answers[rows_]
        agreement = np.full(len(worker_ids), np.nan)
        answered = soft.sum(axis=1)
        top_share = answered.max(axis=1) / np.maximum(answered.sum(axis=1), 1e-300)
    acc = np.trace(soft, axis1=1, axis2=2) / np.maximum(soft.sum(axis=(1, 2)), 1e-300)
    if has_model:
        if ann is not None and not np.array_equal(estimator.worker_ids_, worker_ids):
            raise AnnotationError("the annotations' workers differ from the estimator's workers")
        confusions: F64 | None = np.asarray(estimator.confusions_, dtype=np.float64)
        score = spammer_score(np.asarray(confusions))
    else:
        confusions = None
        acc = agreement
        empirical = soft / np.maximum(soft.sum(axis=2, keepdims=True), 1e-300)
        score = spammer_score(empirical)
    low = (1.0 / k + 1.0) / 2.0 if min_accuracy is None else float(min_accuracy)
    correlated = correlated_workers(estimator, ann) if has_model and ann is not None else set()
    rows = []
    for w in range(len(worker_ids)):
        flags: list[str] = []
        if n[w] < min_answers:
            flags.append("few_answers")
        else:
            if score[w] < spammer_threshold:
                flags.append("spammer")
                if top_share[w] >= 0.9:
                    flags.append("hammer")
            elif acc[w] < 1.0 / k:
                flags.append("adversarial")
            if acc[w] < low and "spammer" not in flags and "adversarial" not in flags:
                flags.append("unreliable")
        if w in correlated:
            flags.append("correlated")
        rows.append(
            WorkerRow(
                worker_ids[w].item() if isinstance(worker_ids[w], np.generic) else worker_ids[w],
                int(n[w]),
                float(acc[w]),
                float(agreement[w]),
                float(score[w]),
                None if confusions is None else confusions[w],
                tuple(flags),
            )
        )
    return WorkerReport(tuple(rows), tuple(estimator.classes_.tolist()), type(estimator).__name__)


# ------------------------------------------------------------------------------------ plotting
def plot_confusions(
    report_or_estimator: Any,
    path: str | os.PathLike[str],
    *,
    annotations: Any = None,
    max_workers: int = 16,
) -> str:
    """Draw workers' confusion matrices (most answers first) into a PNG file.

    Needs matplotlib (``pip install 'gt-consolidation[plot]'``), imported only here.

    Parameters
    ----------
    report_or_estimator : WorkerReport or fitted EM estimator
    path : path-like
        The PNG file to write.
    annotations : optional
        Passed to :func:`worker_report` when an estimator is given.
    max_workers : int, default 16
        Draw at most this many workers.

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    ImportError
        When matplotlib is not installed (the message says how to install it).
    InvalidParameterError
        When no worker has a confusion matrix (majority vote); raised before matplotlib is
        imported.

    Examples
    --------
    Drawing needs matplotlib, so the doctest run skips that line:

    >>> import os, tempfile
    >>> from consolidation import DawidSkene, MajorityVote
    >>> rows = [(i, w, i % 2) for i in range(40) for w in ("a", "b", "c")]
    >>> folder = tempfile.TemporaryDirectory()
    >>> png = os.path.join(folder.name, "workers.png")
    >>> plot_confusions(DawidSkene(backend="numpy").fit(rows), png, annotations=rows)
    ... # doctest: +SKIP
    '...workers.png'
    >>> plot_confusions(MajorityVote().fit(rows), png, annotations=rows)
    Traceback (most recent call last):
    ...
    consolidation._errors.InvalidParameterError: ...; expected an estimator with confusion matrices
    >>> os.path.exists(png)
    False
    >>> folder.cleanup()
    """
    from ._plots import draw_confusions

    report = (
        report_or_estimator
        if isinstance(report_or_estimator, WorkerReport)
        else worker_report(report_or_estimator, annotations)
    )
    if not any(r.confusion is not None for r in report):
        raise InvalidParameterError(
            "report_or_estimator", report.method, "an estimator with confusion matrices"
        )
    draw_confusions(report, os.fspath(path), max_workers=max_workers)
    return os.fspath(path)
