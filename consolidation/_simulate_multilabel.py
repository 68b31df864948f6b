"""Simulated multi-label crowds: workers with per-class sensitivity and specificity, spammers.

Re-exported by :mod:`.simulate` as ``simulate.multilabel`` and ``MultiLabelSimulation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ._checks import check_real
from ._errors import InvalidParameterError
from ._sampling import Activity, check_sizes, choose_workers, interval, make_rng

if TYPE_CHECKING:
    from .multilabel import MultiLabelAnnotations
    from .simulate import Seed

__all__ = ["MultiLabelSimulation", "multilabel"]

_SPAMMER_RATE = (0.1, 0.5)  # multi-label spammers tick each class with this probability
_CHUNK = 1 << 20  # answers per block when sampling votes


@dataclass(frozen=True, eq=False)
class MultiLabelSimulation:
    """A simulated multi-label crowd.

    Attributes
    ----------
    items, workers : ndarray of int32, shape (n_answers,)
        Item code (``0..n_items-1``, answers grouped by item) and worker index (``0..n_workers-1``,
        not re-coded: a worker may have no answer) of each answer.
    votes : ndarray of bool, shape (n_answers, K)
        ``votes[a, k]`` is True when answer ``a`` selected class ``k``.
    truth : ndarray of bool, shape (n_items, K)
        True label sets; every item has at least one true class.
    sensitivity, specificity : ndarray of float64, shape (n_workers, K)
        P(select k | k true) and P(leave k out | k false) per worker and class. For a spammer both
        come from its fixed selection rate p: sensitivity = p, specificity = 1 - p.
    is_spammer : ndarray of bool, shape (n_workers,)
        Whether each worker is a spammer.
    annotations : MultiLabelAnnotations
        The answers, encoded for :class:`~consolidation.MultiLabelConsolidator` (built on first
        use).

    Examples
    --------
    >>> from consolidation import MultiLabelConsolidator
    >>> sim = multilabel(30, 8, 3, 5, seed=0)
    >>> ann = sim.annotations
    >>> ann.n_answers, ann.n_items, ann.classes.tolist()
    (150, 30, [0, 1, 2])
    >>> fitted = MultiLabelConsolidator(output="threshold").fit(ann)
    >>> fitted.selected_.shape == sim.truth.shape
    True
    """

    items: NDArray[np.int32]
    workers: NDArray[np.int32]
    votes: NDArray[np.bool_]
    truth: NDArray[np.bool_]
    sensitivity: NDArray[np.float64]
    specificity: NDArray[np.float64]
    is_spammer: NDArray[np.bool_]

    @property
    def n_answers(self) -> int:
        """Number of answers."""
        return int(self.items.size)

    @cached_property
    def annotations(self) -> MultiLabelAnnotations:
        """The answers as :class:`~consolidation.MultiLabelAnnotations` (built once, cached).

        Item codes are ``0..n_items-1`` (``item_ids`` are those ints), aligned with ``truth``;
        classes are ``0..K-1``. Workers who gave no answer are dropped and the others re-coded in
        increasing order of their index, which ``worker_ids`` holds (as in
        :func:`classification`); ``sensitivity[annotations.worker_ids]`` aligns with them.
        """
        # Imported on use: multilabel pulls in the estimators, which a simulation may not need.
        from .multilabel import MultiLabelAnnotations

        n_workers = self.sensitivity.shape[0]
        answered = np.bincount(self.workers, minlength=n_workers) > 0
        worker_ids = np.flatnonzero(answered)
        workers = self.workers
        if worker_ids.size < n_workers:
            workers = (np.cumsum(answered) - 1).astype(np.int32)[workers]
        return MultiLabelAnnotations(
            self.items,
            workers.astype(np.int32, copy=False),
            self.votes,
            np.arange(self.truth.shape[0]),
            worker_ids,
            np.arange(self.votes.shape[1]),
        )

    @cached_property
    def rows(self) -> list[tuple[int, int, frozenset[int]]]:
        """The answers as ``(item, worker, frozenset of class codes)`` rows (built on first use)."""
        k = self.votes.shape[1]
        # Each answer's set as packed bytes: np.unique on one opaque key per row is fast.
        packed = np.ascontiguousarray(np.packbits(self.votes, axis=1, bitorder="little"))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
        uniq, inverse = np.unique(keys, return_inverse=True)
        bits = np.unpackbits(
            uniq.view(np.uint8).reshape(uniq.size, -1), axis=1, count=k, bitorder="little"
        )
        sets = [frozenset(np.flatnonzero(b).tolist()) for b in bits]
        return list(
            zip(
                self.items.tolist(),
                self.workers.tolist(),
                map(sets.__getitem__, inverse.reshape(-1).tolist()),
                strict=True,
            )
        )


def multilabel(
    n_items: int,
    n_workers: int,
    n_classes: int,
    answers_per_item: int,
    *,
    sensitivity: tuple[float, float] = (0.6, 0.95),
    specificity: tuple[float, float] = (0.85, 0.99),
    spammer_fraction: float = 0.1,
    label_density: float | Sequence[float] = 0.3,
    heavy_tailed: bool = False,
    seed: Seed = None,
) -> MultiLabelSimulation:
    """Simulate a crowd answering a multi-label task (each answer is a set of classes, maybe empty).

    Parameters
    ----------
    n_items, n_workers, n_classes : int
        Sizes; all ``>= 1``.
    answers_per_item : int
        Distinct workers per item, ``1 <= answers_per_item <= n_workers``.
    sensitivity, specificity : (low, high), default (0.6, 0.95) and (0.85, 0.99)
        Each non-spammer's per-class sensitivity P(select k | k true) and specificity
        P(leave k out | k false) are drawn uniformly from these ranges.
    spammer_fraction : float in [0, 1], default 0.1
        Share of spammers (rounded to the nearest count): each ticks every class with its own fixed
        probability ~ U(0.1, 0.5), whatever the truth.
    label_density : float or sequence of n_classes floats in (0, 1], default 0.3
        Probability that a class is true for an item; an item that drew no true class gets one
        uniformly at random, so the realised density is a bit higher.
    heavy_tailed : bool, default False
        Zipf worker activity, as in :func:`classification`.
    seed : int, numpy Generator or None
        Source of randomness.

    Returns
    -------
    MultiLabelSimulation
        Arrays ``items``, ``workers``, ``votes``, ``truth`` and the worker parameters;
        ``annotations`` gives them as :class:`~consolidation.MultiLabelAnnotations` and ``rows``
        as ``(item, worker, frozenset)`` rows.

    Examples
    --------
    >>> sim = multilabel(20, 6, 4, 3, seed=0)
    >>> sim.votes.shape, sim.truth.shape, len(sim.rows)
    ((60, 4), (20, 4), 60)
    >>> bool(sim.truth.any(axis=1).all())
    True
    >>> item, worker, labels = sim.rows[0]
    >>> labels == frozenset(np.flatnonzero(sim.votes[0]).tolist())
    True
    """
    n_items, n_workers, k, r = check_sizes(
        n_items, n_workers, n_classes, answers_per_item, min_classes=1
    )
    sens_range = interval("sensitivity", sensitivity)
    spec_range = interval("specificity", specificity)
    n_spam = int(
        np.floor(check_real("spammer_fraction", spammer_fraction, 0.0, 1.0) * n_workers + 0.5)
    )
    try:
        density = np.broadcast_to(np.asarray(label_density, dtype=np.float64), (k,))
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError("label_density", label_density, "floats in (0, 1]") from exc
    if not ((density > 0) & (density <= 1)).all():
        raise InvalidParameterError("label_density", label_density, "floats in (0, 1]")
    rng = make_rng(seed)

    is_spammer = np.zeros(n_workers, dtype=bool)
    is_spammer[rng.permutation(n_workers)[:n_spam]] = True
    sens = rng.uniform(*sens_range, size=(n_workers, k))
    spec = rng.uniform(*spec_range, size=(n_workers, k))
    rate = rng.uniform(*_SPAMMER_RATE, size=(n_spam, 1))
    sens[is_spammer] = rate
    spec[is_spammer] = 1.0 - rate

    truth = rng.random((n_items, k)) < density
    empty = np.flatnonzero(~truth.any(axis=1))
    truth[empty, rng.integers(0, k, size=empty.size)] = True

    activity = Activity(rng, n_workers) if heavy_tailed else None
    workers = choose_workers(rng, n_items, n_workers, r, activity).reshape(-1)
    items = np.repeat(np.arange(n_items, dtype=np.int32), r)
    votes = np.empty((workers.size, k), dtype=bool)
    step = max(1, _CHUNK // k)
    for start in range(0, workers.size, step):
        stop = min(workers.size, start + step)
        w = workers[start:stop]
        p = np.where(truth[items[start:stop]], sens[w], 1.0 - spec[w])
        votes[start:stop] = rng.random(p.shape) < p
    return MultiLabelSimulation(items, workers, votes, truth, sens, spec, is_spammer)
