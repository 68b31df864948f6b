"""Majority vote, plain or weighted, with an explicit tie policy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._annotations import Annotations
from ._base import BaseConsolidator, as_annotations, check_fitted
from ._errors import InvalidParameterError

__all__ = ["MajorityVote"]

_TIE_BREAKS = ("random", "first", "all")


class MajorityVote(BaseConsolidator):
    """Pick the class with the most votes (or the most vote weight) per item.

    Parameters
    ----------
    weights : mapping or array_like, optional
        Weight of each worker's vote: a mapping ``worker_id -> weight`` (workers not in it weigh 1)
        or an array aligned with the annotations' ``worker_ids``. Weights must be finite and
        non-negative. Default: every vote weighs 1.
    tie_break : {"random", "first", "all"}, default "random"
        How to choose among tied classes: uniformly at random with ``seed``, the lowest class
        index, or the lowest class index while :meth:`results` reports every tied class.
    seed : int or Generator, optional
        Seed of the tie-breaking generator (``numpy.random.default_rng``).

    Attributes
    ----------
    labels_ : ndarray
        Winning class value per item, aligned with ``item_ids_``.
    posteriors_ : ndarray of shape (n_items, K)
        Vote (or weight) shares; rows sum to 1.
    confidence_ : ndarray of shape (n_items,)
        Winning share of the votes (of the weight).
    ties_ : ndarray of bool
        Items whose top share is shared by several classes.
    n_tied_ : ndarray of int
        Number of classes sharing the top share (1 when there is no tie).
    votes_ : ndarray of shape (n_items, K)
        Vote counts; with ``weights``, weighted sums with the weights scaled so that the largest
        is 1 (only their ratios matter, and huge weights then cannot overflow).

    Examples
    --------
    >>> rows = [("i1", "w1", "cat"), ("i1", "w2", "cat"), ("i1", "w3", "dog"),
    ...         ("i2", "w1", "dog"), ("i2", "w2", "fox")]
    >>> mv = MajorityVote(tie_break="first").fit(rows)
    >>> mv.labels_.tolist(), mv.confidence_.round(2).tolist(), mv.ties_.tolist()
    (['cat', 'dog'], [0.67, 0.5], [False, True])
    """

    ties_: NDArray[np.bool_]
    n_tied_: NDArray[np.int64]
    votes_: NDArray[np.float64]

    def __init__(
        self,
        *,
        weights: Mapping[Any, float] | NDArray[np.float64] | None = None,
        tie_break: str = "random",
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.weights = weights
        self.tie_break = tie_break
        self.seed = seed

    def _worker_weights(self, ann: Annotations) -> NDArray[np.float64] | None:
        if self.weights is None:
            return None
        try:
            if isinstance(self.weights, Mapping):
                w = np.array([float(self.weights.get(wid, 1.0)) for wid in ann.worker_ids.tolist()])
            else:
                w = np.asarray(self.weights, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError("weights", self.weights, "numbers, one per worker") from exc
        if w.shape != (ann.n_workers,):
            raise InvalidParameterError(
                "weights",
                f"array of shape {w.shape}",
                f"a mapping or an array of shape ({ann.n_workers},) aligned with worker_ids",
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise InvalidParameterError("weights", self.weights, "finite non-negative weights")
        # Only ratios matter: scaled to a largest weight of 1, sums of huge weights cannot
        # overflow to inf (and shares to NaN).
        top = float(w.max()) if w.size else 0.0
        return w / top if top > 0 else w

    def fit(self, annotations: Any) -> MajorityVote:
        """Count the votes.

        Parameters
        ----------
        annotations : Annotations, iterable of (item, worker, label), or DataFrame

        Returns
        -------
        self
        """
        if self.tie_break not in _TIE_BREAKS:
            raise InvalidParameterError("tie_break", self.tie_break, "'random', 'first' or 'all'")
        try:
            rng = np.random.default_rng(self.seed)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                "seed", self.seed, "None, an integer >= 0 or a numpy Generator"
            ) from exc
        ann = as_annotations(annotations)
        votes = ann.vote_counts(self._worker_weights(ann))
        total = votes.sum(axis=1, keepdims=True)
        # Items whose every voter weighs 0 get uniform shares instead of 0/0.
        post = np.divide(
            votes, total, out=np.full_like(votes, 1.0 / ann.n_classes), where=total > 0
        )
        top = post.max(axis=1, keepdims=True)
        is_top = np.isclose(post, top, rtol=1e-12, atol=1e-15)
        n_tied = is_top.sum(axis=1)
        codes = np.argmax(is_top, axis=1)
        tied = np.flatnonzero(n_tied > 1)
        if self.tie_break == "random" and tied.size:
            # Draw the r-th tied class uniformly, r in [0, n_tied).
            pick = np.floor(rng.random(tied.size) * n_tied[tied]).astype(np.int64)
            order = np.cumsum(is_top[tied], axis=1) - 1
            codes[tied] = np.argmax((order == pick[:, None]) & is_top[tied], axis=1)
        self._set_outputs(ann, post, codes, post[np.arange(ann.n_items), codes])
        self.ties_ = n_tied > 1
        self.n_tied_ = n_tied.astype(np.int64)
        self.votes_ = votes
        self._is_top = is_top
        self._tie_break = self.tie_break  # results() follows the fit, not a later set_params
        return self

    def results(self) -> Iterator[tuple[Any, Any, float]]:
        """Yield ``(item_id, label, confidence)`` per item.

        With ``tie_break="all"`` a tied item's label is the tuple of every tied class value.
        """
        check_fitted(self)
        if self._tie_break != "all":
            yield from super().results()
            return
        classes = self.classes_.tolist()
        for i, (item, label, conf) in enumerate(super().results()):
            if self.ties_[i]:
                yield (
                    item,
                    tuple(c for c, t in zip(classes, self._is_top[i], strict=True) if t),
                    conf,
                )
            else:
                yield item, label, conf
