"""Synthetic crowds: simulated annotators with known truth and known confusion matrices.

Every simulator draws all of its randomness from one ``numpy.random.default_rng(seed)`` and is fully
vectorised (no Python loop over items or answers), so ``classification`` produces 1e7 answers in a
few seconds. Results carry the truth and the true worker parameters, for tests and benchmarks.

Worker kinds for :func:`classification` (``confusions[w]`` has rows = true class, rows sum to 1):

===========  =======================================================================================
kind         behaviour
===========  =======================================================================================
perfect      always right (identity confusion matrix)
reliable     accuracy ~ U(0.80, 0.95), +-0.04 per class; errors spread unevenly over other classes
sloppy       accuracy ~ U(0.55, 0.70), same structure as reliable
spammer      uniform random answers (every row is 1/K)
hammer       hammer-spammer: always answers one fixed class, whatever the truth
adversarial  answers a fixed derangement of the true class with probability U(0.6, 0.9), else
             uniformly at random: accuracy between 0.1/K and 0.4/K, well below chance
confuser     class-confuser: reliable (U(0.85, 0.95)) except on ``max(1, K // 4)`` disjoint pairs
             of classes, where 30-45% of the correct answers go to the pair's other class
===========  =======================================================================================

``"hammer-spammer"`` and ``"class-confuser"`` are accepted as aliases in ``worker_mix``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._annotations import Annotations
from ._errors import InvalidParameterError
from ._mix import kind_counts
from ._sampling import Activity, check_sizes, choose_workers, make_rng
from ._simulate_copiers import add_copiers
from ._simulate_multilabel import MultiLabelSimulation, multilabel

__all__ = [
    "DEFAULT_WORKER_MIX",
    "KINDS",
    "ClassificationSimulation",
    "MultiLabelSimulation",
    "add_copiers",
    "classification",
    "multilabel",
]

# --- boxes: written separately in _simulate_boxes.py; re-exported here once it exists ------------
try:
    from ._simulate_boxes import (  # type: ignore[import-not-found, unused-ignore]
        BoxSimulation,
        boxes,
    )
except ModuleNotFoundError as _exc:  # pragma: no cover - depends on the other module's presence
    if _exc.name != f"{__name__.rpartition('.')[0]}._simulate_boxes":
        raise
else:  # pragma: no cover
    __all__ += ["BoxSimulation", "boxes"]

KINDS = ("perfect", "reliable", "sloppy", "spammer", "hammer", "adversarial", "confuser")
"""Accepted worker kinds, in the (fixed) order in which their parameters are drawn."""

DEFAULT_WORKER_MIX: Mapping[str, float] = MappingProxyType(
    {
        "reliable": 0.55,
        "sloppy": 0.2,
        "confuser": 0.05,
        "spammer": 0.1,
        "hammer": 0.05,
        "adversarial": 0.05,
    }
)
"""Fractions of each worker kind used when ``worker_mix`` is not given."""

_ALIASES = {"hammer-spammer": "hammer", "class-confuser": "confuser"}
_ACCURACY = {"reliable": (0.80, 0.95), "sloppy": (0.55, 0.70), "confuser": (0.85, 0.95)}
_CLASS_JITTER = 0.04  # per-class deviation of the diagonal from the worker's accuracy
_ADVERSARIAL_STRENGTH = (0.6, 0.9)  # probability of answering the permuted class
_CONFUSION_SHARE = (0.30, 0.45)  # share of a confused class's correct answers given to its partner
_CHUNK = 1 << 20  # answers per block when sampling labels

Seed = int | np.random.Generator | np.random.SeedSequence | None


@dataclass(frozen=True, eq=False)
class ClassificationSimulation:
    """A simulated classification crowd.

    Attributes
    ----------
    annotations : Annotations
        The answers. Item codes are ``0..n_items-1`` in order (``item_ids`` are those ints); answers
        are grouped by item. Workers who received no answer are dropped and the others re-coded
        densely in increasing order of their original index; ``worker_ids`` holds that index.
    truth : ndarray of int32, shape (n_items,)
        True class code of each item, aligned with ``annotations.item_ids``.
    confusions : ndarray of float64, shape (n_workers, K, K)
        True confusion matrix of each worker (rows = true class, rows sum to 1), aligned with
        ``annotations.worker_ids``.
    worker_kinds : ndarray of str, shape (n_workers,)
        The kind of each worker (one of :data:`KINDS`, or ``"copier"`` for the workers that
        :func:`add_copiers` adds), aligned with ``annotations.worker_ids``.
    """

    annotations: Annotations
    truth: NDArray[np.int32]
    confusions: NDArray[np.float64]
    worker_kinds: NDArray[np.str_]

    @property
    def accuracies(self) -> NDArray[np.float64]:
        """Each worker's expected accuracy under the uniform class mix (mean of the diagonal)."""
        return np.asarray(np.diagonal(self.confusions, axis1=1, axis2=2).mean(axis=1))


# ---------------------------------------------------------------------------------- validation
def _distribution(name: str, value: ArrayLike, size: int) -> NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(name, value, f"{size} non-negative weights") from exc
    if arr.shape != (size,) or not np.isfinite(arr).all() or (arr < 0).any() or arr.sum() <= 0:
        raise InvalidParameterError(name, value, f"{size} finite non-negative weights, sum > 0")
    normalised: NDArray[np.float64] = arr / arr.sum()
    return normalised


def _kind_counts(worker_mix: Mapping[str, float] | None, n_workers: int) -> NDArray[np.int64]:
    return kind_counts(worker_mix, n_workers, KINDS, DEFAULT_WORKER_MIX, _ALIASES)


# ---------------------------------------------------------------------------------- workers
def _noisy_diagonal(
    rng: np.random.Generator, n: int, k: int, accuracy: tuple[float, float]
) -> NDArray[np.float64]:
    """One-coin-ish matrices: per-class diagonal around the worker's accuracy, uneven errors."""
    acc = rng.uniform(*accuracy, size=(n, 1))
    diag = np.clip(acc + rng.uniform(-_CLASS_JITTER, _CLASS_JITTER, size=(n, k)), 0.0, 1.0)
    mats = rng.standard_gamma(2.0, size=(n, k, k))
    idx = np.arange(k)
    mats[:, idx, idx] = 0.0
    mats *= ((1.0 - diag) / np.maximum(mats.sum(axis=2), np.finfo(float).tiny))[:, :, None]
    mats[:, idx, idx] = diag
    return mats


def _random_permutations(rng: np.random.Generator, n: int, k: int) -> NDArray[np.intp]:
    return np.argsort(rng.random((n, k)), axis=1)


def _kind_confusions(rng: np.random.Generator, kind: str, n: int, k: int) -> NDArray[np.float64]:
    rows = np.arange(n)[:, None]
    cols = np.arange(k)[None, :]
    if kind == "perfect":
        return np.tile(np.eye(k), (n, 1, 1))
    if kind in ("reliable", "sloppy"):
        return _noisy_diagonal(rng, n, k, _ACCURACY[kind])
    if kind == "spammer":
        return np.full((n, k, k), 1.0 / k)
    mats = np.zeros((n, k, k))
    if kind == "hammer":
        mats[rows, cols, rng.integers(0, k, size=(n, 1))] = 1.0
        return mats
    if kind == "adversarial":
        # A single k-cycle conjugated by a random permutation: a derangement (no fixed point).
        perm = _random_permutations(rng, n, k)
        shift = rng.integers(1, k, size=(n, 1))
        sigma = np.empty((n, k), dtype=np.intp)
        sigma[rows, perm] = perm[rows, (cols + shift) % k]
        strength = rng.uniform(*_ADVERSARIAL_STRENGTH, size=(n, 1, 1))
        mats += (1.0 - strength) / k
        mats[rows, cols, sigma] += strength[:, :, 0]
        return mats
    # confuser
    mats = _noisy_diagonal(rng, n, k, _ACCURACY["confuser"])
    perm = _random_permutations(rng, n, k)
    n_pairs = max(1, k // 4)
    share = rng.uniform(*_CONFUSION_SHARE, size=(n, n_pairs))
    r = rows[:, 0]
    for p in range(n_pairs):
        a, b = perm[:, 2 * p], perm[:, 2 * p + 1]
        moved_a, moved_b = mats[r, a, a] * share[:, p], mats[r, b, b] * share[:, p]
        mats[r, a, a] -= moved_a
        mats[r, a, b] += moved_a
        mats[r, b, b] -= moved_b
        mats[r, b, a] += moved_b
    return mats


def _workers(
    rng: np.random.Generator, counts: NDArray[np.int64], k: int
) -> tuple[NDArray[np.str_], NDArray[np.float64]]:
    """Shuffle kinds over workers and draw each worker's confusion matrix."""
    kinds = rng.permutation(np.repeat(np.array(KINDS), counts))
    confusions = np.empty((kinds.size, k, k))
    for kind in KINDS:
        where = np.flatnonzero(kinds == kind)
        if where.size:
            confusions[where] = _kind_confusions(rng, kind, where.size, k)
    return kinds, confusions


def _sample_labels(
    rng: np.random.Generator,
    confusions: NDArray[np.float64],
    workers: NDArray[np.int32],
    true_class: NDArray[np.int32],
) -> NDArray[np.int32]:
    """Draw one label per answer from ``confusions[worker, true_class]`` (inverse CDF, blocks)."""
    k = confusions.shape[1]
    cum = np.cumsum(confusions, axis=2)
    # One contiguous (n_workers * K) table per threshold: better locality than gathering rows.
    thresholds = [np.ascontiguousarray(cum[:, :, c]).reshape(-1) for c in range(k - 1)]
    labels = np.empty(workers.size, dtype=np.int32)
    for start in range(0, workers.size, _CHUNK):
        stop = min(workers.size, start + _CHUNK)
        row = workers[start:stop] * np.int32(k) + true_class[start:stop]
        u = rng.random(stop - start)
        out = labels[start:stop]
        out[:] = 0
        for table in thresholds:
            out += u >= table[row]
    return labels


# ---------------------------------------------------------------------------------- simulators
def classification(
    n_items: int,
    n_workers: int,
    n_classes: int,
    answers_per_item: int,
    *,
    worker_mix: Mapping[str, float] | None = None,
    class_prior: ArrayLike | None = None,
    heavy_tailed: bool = False,
    seed: Seed = None,
) -> ClassificationSimulation:
    """Simulate a crowd answering a classification task.

    Parameters
    ----------
    n_items, n_workers, n_classes : int
        Sizes; ``n_items >= 1``, ``n_workers >= 1``, ``n_classes >= 2``.
    answers_per_item : int
        Distinct workers per item, ``1 <= answers_per_item <= n_workers``.
    worker_mix : mapping of str to float, optional
        Fraction of each worker kind (see the module docstring and :data:`KINDS`); normalised.
        Counts per kind are rounded by largest remainder and the kinds shuffled over workers.
        Default :data:`DEFAULT_WORKER_MIX`.
    class_prior : array_like of shape (n_classes,), optional
        Class frequencies of the true labels (normalised); default uniform.
    heavy_tailed : bool, default False
        If True, worker activity follows Zipf's law (weight ``log(1 + 1 / rank)``, about
        ``1 / rank``, over a random ranking): each item's workers are drawn one by one without
        replacement, with probability proportional to activity, so a few workers give most
        answers (top 10% of 1000 workers: about two thirds). Otherwise all are equally likely.
    seed : int, numpy Generator or None
        Source of randomness; the same seed gives identical results.

    Returns
    -------
    ClassificationSimulation
        Annotations (``items`` grouped by item; workers without answers dropped, ``worker_ids`` =
        original worker index), ``truth``, ``confusions`` and ``worker_kinds``.

    Raises
    ------
    InvalidParameterError
        Naming the parameter that is out of range.

    Examples
    --------
    >>> sim = classification(100, 10, 3, 4, seed=0)
    >>> sim.annotations.n_answers, sim.truth.shape, sim.confusions.shape
    (400, (100,), (10, 3, 3))
    >>> bool(np.allclose(sim.confusions.sum(axis=2), 1.0))
    True
    >>> perfect = classification(50, 5, 4, 3, worker_mix={"perfect": 1.0}, seed=1)
    >>> ann = perfect.annotations
    >>> bool((ann.labels == perfect.truth[ann.items]).all())
    True
    """
    n_items, n_workers, k, r = check_sizes(
        n_items, n_workers, n_classes, answers_per_item, min_classes=2
    )
    counts = _kind_counts(worker_mix, n_workers)
    prior = np.full(k, 1.0 / k)
    if class_prior is not None:
        prior = _distribution("class_prior", class_prior, k)
    rng = make_rng(seed)

    kinds, confusions = _workers(rng, counts, k)
    activity = Activity(rng, n_workers) if heavy_tailed else None
    truth = rng.choice(k, size=n_items, p=prior).astype(np.int32)
    workers = choose_workers(rng, n_items, n_workers, r, activity).reshape(-1)
    labels = _sample_labels(rng, confusions, workers, np.repeat(truth, r))
    items = np.repeat(np.arange(n_items, dtype=np.int32), r)

    answered = np.bincount(workers, minlength=n_workers) > 0
    worker_ids = np.flatnonzero(answered)
    if worker_ids.size < n_workers:
        recode = (np.cumsum(answered) - 1).astype(np.int32)
        workers = recode[workers]
    annotations = Annotations.from_codes(
        items, workers, labels, n_classes=k, worker_ids=worker_ids.tolist()
    )
    return ClassificationSimulation(
        annotations, truth, confusions[worker_ids], kinds[worker_ids].astype(str)
    )
