"""Copying workers for :mod:`consolidation.simulate`: answers that are not independent.

Every consolidation model here, and Dawid-Skene's likelihood in particular, treats the answers
to an item as independent given its true class. Real crowds break that: workers share sources,
habits and mistakes, and a model then counts the same evidence several times and grows
overconfident (see :func:`~consolidation.quality.self_temperature`). :func:`add_copiers` builds
the plainest such crowd from a simulated one: some workers get copiers who repeat their answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._annotations import Annotations
from ._checks import check_count, check_real
from ._sampling import make_rng

if TYPE_CHECKING:
    from .simulate import ClassificationSimulation, Seed

__all__ = ["add_copiers"]


def add_copiers(
    sim: ClassificationSimulation,
    copies: int = 1,
    *,
    fraction: float = 1.0,
    fidelity: float = 1.0,
    seed: Seed = None,
) -> ClassificationSimulation:
    """Give workers of a simulated crowd copiers who repeat their answers.

    Parameters
    ----------
    sim : ClassificationSimulation
        A crowd from :func:`~consolidation.simulate.classification`.
    copies : int, default 1
        Copiers per copied worker (>= 1).
    fraction : float, default 1.0
        Share of the workers who are copied, in ``(0, 1]``; they are drawn at random (rounded to
        the nearest count, at least one).
    fidelity : float, default 1.0
        Probability, in ``[0, 1]``, that a copier repeats its leader's answer; otherwise it
        answers a class drawn uniformly at random. 1.0 gives exact copies: the same evidence
        counted ``copies + 1`` times.
    seed : int, numpy Generator or None
        Randomness of the choice of workers and of the copiers' own answers. None is
        enough when neither is random (``fraction=1``, ``fidelity=1``).

    Returns
    -------
    ClassificationSimulation
        The same items and truth. The annotations hold the original answers, then those of the
        copiers, copy by copy, in the order of the original answers. A copier answers exactly
        the items of its leader. Copier ``j`` of the ``i``-th copied worker has worker code
        ``n_workers + j * n_copied + i`` and a worker id after every original one. Its
        confusion matrix is ``fidelity`` times its leader's plus ``(1 - fidelity) / K``
        everywhere, and its kind is ``"copier"``.

    Raises
    ------
    InvalidParameterError
        Naming the parameter that is out of range (``seed`` included).

    Examples
    --------
    >>> from consolidation.simulate import classification
    >>> sim = classification(100, 10, 3, 4, seed=0)
    >>> twins = add_copiers(sim)  # every worker has a twin who copies every answer
    >>> twins.annotations.n_answers, twins.annotations.n_workers
    (800, 20)
    >>> bool((twins.annotations.labels[400:] == sim.annotations.labels).all())
    True
    >>> some = add_copiers(sim, 2, fraction=0.5, fidelity=0.8, seed=1)
    >>> some.worker_kinds.tolist().count("copier")
    10
    """
    copies = check_count("copies", copies, 1)
    fraction = check_real("fraction", fraction, 0.0, 1.0, low_open=True)
    fidelity = check_real("fidelity", fidelity, 0.0, 1.0)
    ann: Annotations = sim.annotations
    w, k = ann.n_workers, ann.n_classes
    rng = make_rng(seed)
    if fraction >= 1.0:
        leaders = np.arange(w)
    else:
        n_copied = min(w, max(1, round(fraction * w)))
        leaders = np.sort(rng.choice(w, size=n_copied, replace=False))
    n_copied = leaders.size
    rank = np.full(w, -1, dtype=np.int64)
    rank[leaders] = np.arange(n_copied)
    copied = rank[ann.workers] >= 0  # answers of copied workers
    items, labels, lead_rank = ann.items[copied], ann.labels[copied], rank[ann.workers[copied]]
    new_items, new_workers, new_labels = [ann.items], [ann.workers], [ann.labels]
    for j in range(copies):
        answer = labels
        if fidelity < 1.0:
            own = rng.random(labels.size) >= fidelity
            answer = labels.copy()
            answer[own] = rng.integers(0, k, size=int(own.sum()), dtype=labels.dtype)
        new_items.append(items)
        new_workers.append((w + j * n_copied + lead_rank).astype(ann.workers.dtype))
        new_labels.append(answer)
    first = int(np.max(ann.worker_ids)) + 1 if _integral(ann.worker_ids) else w
    worker_ids = [*ann.worker_ids.tolist(), *range(first, first + copies * n_copied)]
    annotations = Annotations.from_codes(
        np.concatenate(new_items),
        np.concatenate(new_workers),
        np.concatenate(new_labels),
        classes=ann.classes,
        item_ids=ann.item_ids,
        worker_ids=worker_ids,
    )
    lead = sim.confusions[leaders]
    copier = fidelity * lead + (1.0 - fidelity) / k
    return type(sim)(
        annotations,
        sim.truth,
        np.concatenate([sim.confusions, *([copier] * copies)]),
        np.concatenate([sim.worker_kinds, np.full(copies * n_copied, "copier")]),
    )


def _integral(ids: Any) -> bool:
    return bool(ids.size) and all(isinstance(x, int) for x in ids.tolist())
