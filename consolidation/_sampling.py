"""Sampling shared by the simulators: the seed, probability ranges, and which workers answer.

Private; :mod:`.simulate` and its siblings are its users. Everything is vectorised: workers are
drawn for all items at once, without replacement within an item.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._checks import check_count
from ._errors import InvalidParameterError

__all__ = ["Activity", "check_sizes", "choose_workers", "interval", "make_rng"]

_DENSE_LIMIT = 1 << 21  # random keys per block in dense (item x worker) sampling: 16 MiB
_MAX_ROUNDS = 64  # rejection rounds before the remaining items are finished densely
_PAIR = "a pair (low, high) with 0 <= low <= high <= 1"


def check_sizes(
    n_items: Any, n_workers: Any, n_classes: Any, answers_per_item: Any, *, min_classes: int
) -> tuple[int, int, int, int]:
    """Check a simulated crowd's sizes; return them as ints (items, workers, classes, per item)."""
    n_items = check_count("n_items", n_items, 1)
    n_workers = check_count("n_workers", n_workers, 1)
    k = check_count("n_classes", n_classes, min_classes)
    r = check_count("answers_per_item", answers_per_item, 1)
    if r > n_workers:
        raise InvalidParameterError(
            "answers_per_item", answers_per_item, f"an integer in [1, n_workers={n_workers}]"
        )
    return n_items, n_workers, k, r


def make_rng(seed: Any) -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            "seed", seed, "None, a non-negative int or a numpy Generator"
        ) from exc


def interval(name: str, value: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(name, value, _PAIR) from exc
    if not 0.0 <= low <= high <= 1.0:
        raise InvalidParameterError(name, value, _PAIR)
    return low, high


class Activity:
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
def choose_workers(
    rng: np.random.Generator,
    n_items: int,
    n_workers: int,
    r: int,
    activity: Activity | None,
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
    activity: Activity,
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
