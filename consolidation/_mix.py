"""The simulators' worker mix: fractions per kind -> counts of workers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from ._errors import InvalidParameterError

__all__ = ["kind_counts"]


def kind_counts(
    worker_mix: Mapping[str, float] | None,
    n_workers: int,
    kinds: Sequence[str],
    default: Mapping[str, float],
    aliases: Mapping[str, str] | None = None,
) -> NDArray[np.int64]:
    """Split ``n_workers`` over ``kinds`` by largest remainder (ties: order of ``kinds``).

    Examples
    --------
    >>> kind_counts({"good": 2, "bad": 1}, 10, ("good", "bad"), {"good": 1}).tolist()
    [7, 3]
    """
    mix = default if worker_mix is None else worker_mix
    allowed = f"a mapping from {list(kinds)} to non-negative fractions with a positive sum"
    if not isinstance(mix, Mapping) or not mix:
        raise InvalidParameterError("worker_mix", worker_mix, allowed)
    fractions = np.zeros(len(kinds))
    for kind, fraction in mix.items():
        canonical = (aliases or {}).get(kind, kind)
        if canonical not in kinds:
            raise InvalidParameterError("worker_mix", dict(mix), allowed)
        try:
            fractions[list(kinds).index(canonical)] += float(fraction)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError("worker_mix", dict(mix), allowed) from exc
    if not np.isfinite(fractions).all() or (fractions < 0).any() or fractions.sum() <= 0:
        raise InvalidParameterError("worker_mix", dict(mix), allowed)
    quotas = fractions / fractions.sum() * n_workers
    counts: NDArray[np.int64] = np.floor(quotas).astype(np.int64)
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[: n_workers - int(counts.sum())]] += 1
    return counts
