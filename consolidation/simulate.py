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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._annotations import Annotations
from ._checks import check_count, check_real
from ._errors import InvalidParameterError
from ._mix import kind_counts
from ._simulate_copiers import add_copiers

if TYPE_CHECKING:
    from .multilabel import MultiLabelAnnotations

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
_SPAMMER_RATE = (0.1, 0.5)  # multi-label spammers tick each class with this probability
_DENSE_LIMIT = 1 << 21  # random keys per block in dense (item x worker) sampling: 16 MiB
_CHUNK = 1 << 20  # answers per block when sampling labels
_MAX_ROUNDS = 64  # rejection rounds before the remaining items are finished densely
_PAIR = "a pair (low, high) with 0 <= low <= high <= 1"

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


# ---------------------------------------------------------------------------------- validation
def _rng(seed: Any) -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            "seed", seed, "None, a non-negative int or a numpy Generator"
        ) from exc


def _interval(name: str, value: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(name, value, _PAIR) from exc
    if not 0.0 <= low <= high <= 1.0:
        raise InvalidParameterError(name, value, _PAIR)
    return low, high


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


class _Activity:
    """Heavy-tailed worker activity: Zipf-like weights over a random ranking of the workers.

    The worker of rank ``i`` (0-based) has weight ``log((i + 2) / (i + 1)) / log(n + 1)``, about
    ``1 / (i + 1.5)`` normalised (Zipf's law, exponent 1). Its CDF over ranks is
    ``log(i + 2) / log(n + 1)``, so a draw is exact and O(1): ``floor((n + 1) ** u) - 1``.
    """

    def __init__(self, rng: np.random.Generator, n_workers: int) -> None:
        self.order = rng.permutation(n_workers)  # order[rank] = worker
        ranks = np.arange(n_workers, dtype=np.float64)
        self.weights = np.empty(n_workers)
        self.weights[self.order] = np.log1p(1.0 / (ranks + 1.0)) / np.log(n_workers + 1.0)

    def draw(self, rng: np.random.Generator, size: tuple[int, ...]) -> NDArray[np.int32]:
        """Draw workers independently with probability ``weights``."""
        n = self.order.size
        rank = np.floor(np.exp(rng.random(size) * np.log(n + 1.0))).astype(np.int64) - 1
        np.clip(rank, 0, n - 1, out=rank)
        drawn: NDArray[np.int32] = self.order[rank].astype(np.int32)
        return drawn


# ---------------------------------------------------------------------------------- assignment
def _choose_workers(
    rng: np.random.Generator,
    n_items: int,
    n_workers: int,
    r: int,
    activity: _Activity | None,
) -> NDArray[np.int32]:
    """Draw ``r`` distinct workers for each item: an ``(n_items, r)`` array of worker indices.

    With ``activity``, each item's workers are a weighted sample without replacement (drawn one by
    one with probability proportional to weight among those not drawn yet); otherwise a uniform
    random subset. The strategy chosen only changes speed and memory, never the distribution.
    """
    weights = None if activity is None else activity.weights
    if n_items * n_workers <= _DENSE_LIMIT:
        return _dense_choice(rng, n_items, n_workers, r, weights)
    if activity is None:
        if r * r > 32 * n_workers:
            return _dense_choice(rng, n_items, n_workers, r, None)
        return _floyd_choice(rng, n_items, n_workers, r)
    if 2 * r > n_workers:
        return _dense_choice(rng, n_items, n_workers, r, weights)
    return _rounds_choice(rng, n_items, r, activity)


def _dense_choice(
    rng: np.random.Generator,
    n_rows: int,
    n_workers: int,
    r: int,
    weights: NDArray[np.float64] | None,
    forced: NDArray[np.int32] | None = None,
) -> NDArray[np.int32]:
    """Exponential races in blocks: the ``r`` smallest of ``E_j / w_j`` per row.

    ``forced`` (rows x r, -1 = free slot) lists workers already drawn; they are kept and the rest of
    the row is drawn among the other workers, continuing the sequential weighted sample.
    """
    out = np.empty((n_rows, r), dtype=np.int32)
    step = max(1, _DENSE_LIMIT // n_workers)
    for start in range(0, n_rows, step):
        stop = min(n_rows, start + step)
        keys = rng.standard_exponential((stop - start, n_workers))
        if weights is not None:
            keys /= weights
        if forced is not None:
            rows, slots = np.nonzero(forced[start:stop] >= 0)
            keys[rows, forced[start:stop][rows, slots]] = -1.0
        out[start:stop] = np.argpartition(keys, r - 1, axis=1)[:, :r]
    return out


def _floyd_choice(
    rng: np.random.Generator, n_items: int, n_workers: int, r: int
) -> NDArray[np.int32]:
    """Floyd's algorithm, one column at a time for all items: exactly uniform, ``r`` draws each."""
    sel = np.empty((n_items, r), dtype=np.int32)
    for col, top in enumerate(range(n_workers - r, n_workers)):
        draw = rng.integers(0, top + 1, size=n_items, dtype=np.int32)
        if col:
            draw[(sel[:, :col] == draw[:, None]).any(axis=1)] = top
        sel[:, col] = draw
    return sel


def _rounds_choice(
    rng: np.random.Generator,
    n_items: int,
    r: int,
    activity: _Activity,
    max_rounds: int = _MAX_ROUNDS,
) -> NDArray[np.int32]:
    """Sequential weighted sampling by rejection, vectorised over the items still incomplete.

    Each round draws a candidate for every slot of the incomplete items; a candidate fills its free
    slot unless its worker is already in the row (drawn before it). This is exactly "draw with
    replacement, keep the first ``r`` distinct". After ``max_rounds`` the rest is finished densely.
    """
    sel = np.full((n_items, r), -1, dtype=np.int32)
    todo = np.arange(n_items)
    for _ in range(max_rounds):
        if not todo.size:
            break
        block = sel[todo]
        draws = activity.draw(rng, (todo.size, r))
        for slot in range(r):
            cand = draws[:, slot]
            take = (block[:, slot] < 0) & ~(block == cand[:, None]).any(axis=1)
            block[take, slot] = cand[take]
        sel[todo] = block
        todo = todo[(block < 0).any(axis=1)]
    if todo.size:
        n_workers = activity.weights.size
        sel[todo] = _dense_choice(rng, todo.size, n_workers, r, activity.weights, sel[todo])
    return sel


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
    n_items = check_count("n_items", n_items, 1)
    n_workers = check_count("n_workers", n_workers, 1)
    k = check_count("n_classes", n_classes, 2)
    r = check_count("answers_per_item", answers_per_item, 1)
    if r > n_workers:
        raise InvalidParameterError(
            "answers_per_item", answers_per_item, f"an int in [1, n_workers={n_workers}]"
        )
    counts = _kind_counts(worker_mix, n_workers)
    prior = np.full(k, 1.0 / k)
    if class_prior is not None:
        prior = _distribution("class_prior", class_prior, k)
    rng = _rng(seed)

    kinds, confusions = _workers(rng, counts, k)
    activity = _Activity(rng, n_workers) if heavy_tailed else None
    truth = rng.choice(k, size=n_items, p=prior).astype(np.int32)
    workers = _choose_workers(rng, n_items, n_workers, r, activity).reshape(-1)
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
    n_items = check_count("n_items", n_items, 1)
    n_workers = check_count("n_workers", n_workers, 1)
    k = check_count("n_classes", n_classes, 1)
    r = check_count("answers_per_item", answers_per_item, 1)
    if r > n_workers:
        raise InvalidParameterError(
            "answers_per_item", answers_per_item, f"an int in [1, n_workers={n_workers}]"
        )
    sens_range = _interval("sensitivity", sensitivity)
    spec_range = _interval("specificity", specificity)
    n_spam = int(
        np.floor(check_real("spammer_fraction", spammer_fraction, 0.0, 1.0) * n_workers + 0.5)
    )
    try:
        density = np.broadcast_to(np.asarray(label_density, dtype=np.float64), (k,))
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError("label_density", label_density, "floats in (0, 1]") from exc
    if not ((density > 0) & (density <= 1)).all():
        raise InvalidParameterError("label_density", label_density, "floats in (0, 1]")
    rng = _rng(seed)

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

    activity = _Activity(rng, n_workers) if heavy_tailed else None
    workers = _choose_workers(rng, n_items, n_workers, r, activity).reshape(-1)
    items = np.repeat(np.arange(n_items, dtype=np.int32), r)
    votes = np.empty((workers.size, k), dtype=bool)
    step = max(1, _CHUNK // k)
    for start in range(0, workers.size, step):
        stop = min(workers.size, start + step)
        w = workers[start:stop]
        p = np.where(truth[items[start:stop]], sens[w], 1.0 - spec[w])
        votes[start:stop] = rng.random(p.shape) < p
    return MultiLabelSimulation(items, workers, votes, truth, sens, spec, is_spammer)
