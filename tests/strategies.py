"""Hypothesis strategies shared by the property tests: simulated crowds and degenerate annotations.

Everything here is small and fast (well under 10 ms per example). Sizes and seeds are drawn by
hypothesis, so failures shrink towards small crowds; bulk randomness comes from a drawn seed.

- :func:`crowds` -- :class:`~consolidation.simulate.ClassificationSimulation` with a random worker
  mix (kinds of :data:`~consolidation.simulate.KINDS`), optionally heavy-tailed activity.
- :func:`perfect_crowds` -- every worker is ``"perfect"`` (identity confusion): the truth is
  recoverable from any single answer.
- :func:`crowd_annotations` -- just the :class:`~consolidation.Annotations` of :func:`crowds`.
- :func:`multilabel_crowds` -- :class:`~consolidation.simulate.MultiLabelSimulation`.
- :func:`degenerate_annotations` -- edge cases (one of :data:`DEGENERATE`, by name).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from consolidation import Annotations
from consolidation.simulate import (
    KINDS,
    ClassificationSimulation,
    MultiLabelSimulation,
    classification,
    multilabel,
)

__all__ = [
    "DEGENERATE",
    "crowd_annotations",
    "crowds",
    "degenerate_annotations",
    "multilabel_crowds",
    "perfect_crowds",
    "seeds",
    "worker_mixes",
]

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def worker_mixes(kinds: tuple[str, ...] = KINDS) -> st.SearchStrategy[dict[str, float]]:
    """Mappings kind -> positive weight over a non-empty subset of ``kinds``."""
    return st.dictionaries(
        st.sampled_from(kinds), st.integers(1, 4).map(float), min_size=1, max_size=len(kinds)
    )


@st.composite
def crowds(
    draw: st.DrawFn,
    *,
    min_items: int = 1,
    max_items: int = 40,
    min_workers: int = 1,
    max_workers: int = 12,
    min_classes: int = 2,
    max_classes: int = 6,
    max_answers: int = 7,
    worker_mix: dict[str, float] | None = None,
    heavy_tailed: bool | None = None,
) -> ClassificationSimulation:
    """Small simulated classification crowds.

    Parameters fix the ranges; ``worker_mix`` and ``heavy_tailed`` are drawn unless given.
    """
    n_items = draw(st.integers(min_items, max_items))
    n_workers = draw(st.integers(min_workers, max_workers))
    k = draw(st.integers(min_classes, max_classes))
    r = draw(st.integers(1, max(1, min(n_workers, max_answers))))
    mix = draw(worker_mixes()) if worker_mix is None else worker_mix
    tailed = draw(st.booleans()) if heavy_tailed is None else heavy_tailed
    return classification(
        n_items, n_workers, k, r, worker_mix=mix, heavy_tailed=tailed, seed=draw(seeds)
    )


def perfect_crowds(**kwargs: Any) -> st.SearchStrategy[ClassificationSimulation]:
    """Crowds of ``"perfect"`` workers only: every answer is the true class."""
    return crowds(worker_mix={"perfect": 1.0}, **kwargs)


def crowd_annotations(**kwargs: Any) -> st.SearchStrategy[Annotations]:
    """The annotations of :func:`crowds` (same keyword arguments)."""
    return crowds(**kwargs).map(lambda sim: sim.annotations)


@st.composite
def multilabel_crowds(
    draw: st.DrawFn,
    *,
    max_items: int = 30,
    max_workers: int = 10,
    max_classes: int = 6,
    max_answers: int = 5,
) -> MultiLabelSimulation:
    """Small simulated multi-label crowds (spammer share and label density drawn too)."""
    n_items = draw(st.integers(1, max_items))
    n_workers = draw(st.integers(1, max_workers))
    k = draw(st.integers(1, max_classes))
    r = draw(st.integers(1, min(n_workers, max_answers)))
    return multilabel(
        n_items,
        n_workers,
        k,
        r,
        spammer_fraction=draw(st.sampled_from([0.0, 0.1, 0.3, 1.0])),
        label_density=draw(st.sampled_from([0.05, 0.3, 0.8, 1.0])),
        heavy_tailed=draw(st.booleans()),
        seed=draw(seeds),
    )


# ---------------------------------------------------------------------------------- edge cases
@st.composite
def _one_answer(draw: st.DrawFn) -> Annotations:
    """One item, one worker, one answer."""
    k = draw(st.integers(2, 5))
    return Annotations.from_codes([0], [0], [draw(st.integers(0, k - 1))], n_classes=k)


@st.composite
def _unused_class(draw: st.DrawFn) -> Annotations:
    """K classes (often K=2) of which at least one is never answered."""
    sim = draw(crowds(max_items=15, max_workers=6, max_classes=4))
    k = sim.annotations.n_classes
    # Map every answer into the first k-1 classes: class k-1 never occurs.
    ann = sim.annotations
    return Annotations.from_codes(
        ann.items,
        ann.workers,
        ann.labels % (k - 1),
        n_classes=k,
        worker_ids=ann.worker_ids.tolist(),
    )


@st.composite
def _single_answers(draw: st.DrawFn) -> Annotations:
    """Every item has exactly one answer and every worker gave exactly one answer."""
    n = draw(st.integers(1, 30))
    k = draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(seeds))
    return Annotations.from_codes(
        np.arange(n), rng.permutation(n), rng.integers(0, k, n), n_classes=k
    )


@st.composite
def _one_worker(draw: st.DrawFn) -> Annotations:
    """A single worker answered every item."""
    n = draw(st.integers(1, 30))
    k = draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(seeds))
    return Annotations.from_codes(
        np.arange(n), np.zeros(n, int), rng.integers(0, k, n), n_classes=k
    )


@st.composite
def _crowded_item(draw: st.DrawFn) -> Annotations:
    """One item answered by 500 distinct workers."""
    k = draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(seeds))
    labels = rng.choice(k, size=500, p=rng.dirichlet(np.ones(k)))
    return Annotations.from_codes(np.zeros(500, int), np.arange(500), labels, n_classes=k)


@st.composite
def _unanimous(draw: st.DrawFn) -> Annotations:
    """All workers agree on every item (a perfect crowd)."""
    return draw(perfect_crowds(max_items=20, max_workers=8)).annotations


@st.composite
def _one_class(draw: st.DrawFn) -> Annotations:
    """Every answer is the same class."""
    ann = draw(crowds(max_items=20, max_workers=8)).annotations
    cls = draw(st.integers(0, ann.n_classes - 1))
    return Annotations.from_codes(
        ann.items,
        ann.workers,
        np.full(ann.n_answers, cls),
        n_classes=ann.n_classes,
        worker_ids=ann.worker_ids.tolist(),
    )


DEGENERATE: dict[str, st.SearchStrategy[Annotations]] = {
    "one_answer": _one_answer(),
    "unused_class": _unused_class(),
    "single_answers": _single_answers(),
    "one_worker": _one_worker(),
    "crowded_item": _crowded_item(),
    "unanimous": _unanimous(),
    "one_class": _one_class(),
}
"""Edge-case strategies by name, for tests that want one case (``DEGENERATE["one_class"]``)."""


def degenerate_annotations() -> st.SearchStrategy[Annotations]:
    """Any of the :data:`DEGENERATE` edge cases."""
    return st.one_of(*DEGENERATE.values())
