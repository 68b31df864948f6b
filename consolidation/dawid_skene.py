"""Dawid-Skene EM (classic, Dirichlet-smoothed) and the AWS Modified Dawid-Skene (MDS).

Both estimate a confusion matrix per worker and a posterior over the true class of every item. The
E-step and the soft-count M-step are numba kernels with numpy twins (:mod:`._kernels.em`); this
module holds the parameter updates, the stopping rule and the warm start.

References
----------
A. P. Dawid and A. M. Skene, "Maximum likelihood estimation of observer error-rates using the EM
algorithm", Applied Statistics 28(1), 1979.
``reference/groundtruth.md`` section 1: the Modified Dawid-Skene of the AWS "Understanding
Annotation Consolidation" notebook, behind SageMaker Ground Truth's classification consolidation.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._annotations import Annotations
from ._base import BaseConsolidator, as_annotations, check_fitted
from ._checks import check_count, check_real
from ._errors import InvalidParameterError
from ._kernels import resolve_backend
from ._kernels.em import column_sums, e_step, m_step_counts
from .worker_state import WorkerState

__all__ = ["DawidSkene", "ModifiedDawidSkene", "one_coin"]

_TINY = 1e-300  # floor under probabilities before taking logs: no -inf ever reaches the sums


def one_coin(accuracy: NDArray[np.float64] | float, k: int) -> NDArray[np.float64]:
    """Return symmetric one-coin matrices: ``accuracy`` on the diagonal, the rest spread evenly.

    Parameters
    ----------
    accuracy : float or ndarray of shape (n,)
        Diagonal value(s).
    k : int
        Number of classes (at least 2).

    Returns
    -------
    ndarray of shape (k, k) or (n, k, k)

    Examples
    --------
    >>> one_coin(0.7, 3).round(2).tolist()
    [[0.7, 0.15, 0.15], [0.15, 0.7, 0.15], [0.15, 0.15, 0.7]]
    """
    acc = np.asarray(accuracy, dtype=np.float64)
    off = (1.0 - acc) / (k - 1)
    eye = np.eye(k)
    return off[..., None, None] * (1.0 - eye) + acc[..., None, None] * eye


def _log(p: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.log(np.maximum(p, _TINY))


def _sweep(
    backend: Any,
    ann: Annotations,
    log_emit: NDArray[np.float64],
    log_prior: NDArray[np.float64],
    post: NDArray[np.float64],
    counts: NDArray[np.float64],
) -> float:
    """One E-step (posteriors, log-likelihood) then the soft counts of those posteriors."""
    loglik = float(e_step(backend, *ann.sorted_by_item(), log_emit, log_prior, post))
    items, workers, labels, _ = ann.sorted_by_item()
    m_step_counts(backend, items, workers, labels, post, counts)
    return loglik


class _EMConsolidator(BaseConsolidator):
    """Shared fit skeleton: validation, warm start mapping, outputs and worker state."""

    worker_ids_: NDArray[Any]
    confusions_: NDArray[np.float64]
    priors_: NDArray[np.float64]
    n_iter_: int
    converged_: bool
    log_likelihoods_: NDArray[np.float64]
    worker_state_: WorkerState
    backend_: str

    backend: str
    max_iter: int
    tol: float

    def _validate(self) -> None:
        check_count("max_iter", self.max_iter, 1, 1_000_000)
        check_real("tol", self.tol, 0.0, 1.0)

    def fit(self, annotations: Any, *, warm_start: WorkerState | None = None) -> Any:
        """Fit the model.

        Parameters
        ----------
        annotations : Annotations, iterable of (item, worker, label), or DataFrame
            The answers.
        warm_start : WorkerState, optional
            Counts learned on earlier, disjoint batches (``worker_state_`` of a previous fit, or
            :meth:`WorkerState.load`). Known workers start from, and keep, their earlier evidence;
            unseen workers start from the prior. ``worker_state_`` then holds both.

        Returns
        -------
        self
        """
        self._validate()
        ann = as_annotations(annotations)
        backend = resolve_backend(self.backend)
        if warm_start is not None and not isinstance(warm_start, WorkerState):
            raise InvalidParameterError("warm_start", warm_start, "a WorkerState or None")
        stored = np.zeros((ann.n_workers, ann.n_classes, ann.n_classes))  # (w, l, t) layout
        stored_n = np.zeros(ann.n_workers)
        if warm_start is not None:
            warm_start.check_classes(ann.classes.tolist())
            rows = warm_start.lookup(ann.worker_ids.tolist())
            known = rows >= 0
            stored[known] = warm_start.counts[rows[known]].transpose(0, 2, 1)
            stored_n[known] = warm_start.n_answers[rows[known]]
        post = np.empty((ann.n_items, ann.n_classes))
        counts = np.empty((ann.n_workers, ann.n_classes, ann.n_classes))
        # After _em, ``counts`` holds the soft counts of the final posteriors: the evidence that a
        # later batch reuses through the worker state.
        emit_lt, prior, lls, converged, pop_acc = self._em(
            ann, backend, post, counts, stored, stored_n, warm_start
        )
        batch_state = WorkerState(
            ann.classes.tolist(),
            ann.worker_ids.tolist(),
            counts.transpose(0, 2, 1),
            np.bincount(ann.workers, minlength=ann.n_workers),
            post.sum(axis=0),
            pop_acc,
        )
        self.worker_state_ = batch_state if warm_start is None else warm_start.merge(batch_state)
        codes = np.argmax(post, axis=1)
        self._set_outputs(ann, post, codes, self._confidence(post))
        self.worker_ids_ = ann.worker_ids
        self.confusions_ = np.ascontiguousarray(emit_lt.transpose(0, 2, 1))
        self.priors_ = prior
        self.log_likelihoods_ = np.asarray(lls, dtype=np.float64)
        self.n_iter_ = len(lls)
        self.converged_ = converged
        self.backend_ = backend
        return self

    def _confidence(self, post: NDArray[np.float64]) -> NDArray[np.float64]:
        conf: NDArray[np.float64] = post.max(axis=1)
        return conf

    @abstractmethod
    def _em(
        self,
        ann: Annotations,
        backend: Any,
        post: NDArray[np.float64],
        counts: NDArray[np.float64],
        stored: NDArray[np.float64],
        stored_n: NDArray[np.float64],
        warm: WorkerState | None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[float], bool, float]:
        """Run EM, leaving the posteriors in ``post`` and their soft counts in ``counts``.

        Returns the emissions (w, l, t), the class prior, the log-likelihoods, whether ``tol``
        was met, and the mean worker accuracy.
        """

    def _stop(self, lls: list[float]) -> bool:
        return len(lls) > 1 and abs(lls[-1] - lls[-2]) <= self.tol * abs(lls[-2])

    def worker_accuracy(self) -> NDArray[np.float64]:
        """Estimated accuracy per worker: ``sum_t priors_[t] * confusions_[w, t, t]``."""
        check_fitted(self, "confusions_")
        diag = np.diagonal(self.confusions_, axis1=1, axis2=2)
        return np.asarray(diag @ self.priors_, dtype=np.float64)


class DawidSkene(_EMConsolidator):
    """Dawid & Skene (1979) EM with full per-worker confusion matrices, in log space.

    Parameters
    ----------
    max_iter : int, default 100
        Maximum number of EM iterations (one M-step then one E-step).
    tol : float, default 1e-6
        Stop when the marginal log-likelihood changes by at most ``tol * |previous|``.
    init : "majority" or ndarray of shape (n_items, K), default "majority"
        Starting posteriors: majority-vote shares, or given posteriors (rows are normalised).
    smoothing : float, default 0.01
        Additive (Dirichlet) pseudo-count on every confusion cell and class count, so no worker or
        class gets a probability of exactly zero.
    seed : int or Generator, optional
        Accepted for API symmetry; the algorithm itself is deterministic.
    backend : {"auto", "numba", "numpy"}, default "auto"
        Kernel implementation; both give the same results to 1e-9.

    Attributes
    ----------
    item_ids_, classes_, worker_ids_ : ndarray
        Decoding tables.
    labels_ : ndarray
        Consolidated class value per item (argmax posterior; the lowest class index wins a tie).
    posteriors_ : ndarray of shape (n_items, K)
        Posterior over the true class; rows sum to 1.
    confidence_ : ndarray of shape (n_items,)
        Maximum posterior.
    confusions_ : ndarray of shape (n_workers, K, K)
        ``confusions_[w, t, l] = P(w answers l | true class t)``; rows sum to 1.
    priors_ : ndarray of shape (K,)
        Class prior.
    n_iter_, converged_, log_likelihoods_ :
        Iterations run, whether ``tol`` was met, and the log-likelihood after each iteration.
    worker_state_ : WorkerState
        Soft counts for a warm start on the next batch.

    Notes
    -----
    Maximum likelihood cannot tell a worker's errors from the truth when items have a single
    answer each: with one worker, the likelihood is maximised by many (worker, truth) pairs and EM
    may drift from the majority-vote start toward the majority class. Use at least two answers per
    item, :class:`ModifiedDawidSkene` (whose prior ties workers to the population) or the
    recommended :func:`default_estimator` when answers are that thin.

    Examples
    --------
    >>> rows = [("i1", "w1", "cat"), ("i1", "w2", "cat"), ("i1", "w3", "dog"),
    ...         ("i2", "w1", "dog"), ("i2", "w2", "dog"), ("i2", "w3", "dog")]
    >>> ds = DawidSkene(backend="numpy").fit(rows)
    >>> ds.labels_.tolist()
    ['cat', 'dog']
    >>> bool(np.allclose(ds.posteriors_.sum(axis=1), 1.0))
    True
    """

    def __init__(
        self,
        *,
        max_iter: int = 100,
        tol: float = 1e-6,
        init: str | NDArray[np.float64] = "majority",
        smoothing: float = 0.01,
        seed: int | np.random.Generator | None = None,
        backend: str = "auto",
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.smoothing = smoothing
        self.seed = seed
        self.backend = backend

    def _validate(self) -> None:
        super()._validate()
        check_real("smoothing", self.smoothing, 0.0, 1e12)

    def _initial_posteriors(
        self,
        ann: Annotations,
        warm: WorkerState | None,
        stored: NDArray[np.float64],
        backend: Any,
        post: NDArray[np.float64],
    ) -> None:
        if isinstance(self.init, str):
            if self.init != "majority":
                raise InvalidParameterError("init", self.init, "'majority' or an array")
            if warm is not None and warm.n_workers:
                # Known workers vote with their stored confusions, unseen ones as one-coin workers
                # of the stored population accuracy.
                k = ann.n_classes
                coin = one_coin(warm.population_accuracy, k) + self.smoothing
                emit = np.where(
                    stored.sum(axis=(1, 2))[:, None, None] > 0, stored + self.smoothing, coin
                )
                # A known worker never seen on some true class has an empty row there; without
                # smoothing it would be 0/0: that row starts from the one-coin prior too.
                empty = emit.sum(axis=1, keepdims=True) <= 0
                if empty.any():
                    emit = np.where(empty, coin.T[None], emit)
                emit /= emit.sum(axis=1, keepdims=True)
                prior = warm.class_counts + self.smoothing + 1e-12
                items, workers, labels, indptr = ann.sorted_by_item()
                e_step(
                    backend,
                    items,
                    workers,
                    labels,
                    indptr,
                    _log(emit),
                    _log(prior / prior.sum()),
                    post,
                )
                return
            votes = ann.vote_counts()
            post[:] = votes / votes.sum(axis=1, keepdims=True)
            return
        init = np.asarray(self.init, dtype=np.float64)
        if (
            init.shape != post.shape
            or not np.all(np.isfinite(init))
            or np.any(init < 0)
            or np.any(init.sum(axis=1) <= 0)
        ):
            raise InvalidParameterError(
                "init",
                f"array of shape {init.shape}",
                f"'majority' or a non-negative finite array of shape {post.shape} "
                "with positive rows",
            )
        post[:] = init / init.sum(axis=1, keepdims=True)

    def _em(
        self,
        ann: Annotations,
        backend: Any,
        post: NDArray[np.float64],
        counts: NDArray[np.float64],
        stored: NDArray[np.float64],
        stored_n: NDArray[np.float64],
        warm: WorkerState | None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[float], bool, float]:
        self._initial_posteriors(ann, warm, stored, backend, post)
        items, workers, labels, _ = ann.sorted_by_item()
        m_step_counts(backend, items, workers, labels, post, counts)
        class_sums = column_sums(post)
        lls: list[float] = []
        converged = False
        a = float(self.smoothing)
        emit = prior = np.empty(0)
        for _ in range(self.max_iter):
            emit = counts + stored + a
            emit /= np.maximum(emit.sum(axis=1, keepdims=True), _TINY)  # normalise over labels
            prior = class_sums + a
            prior /= prior.sum()
            ll = _sweep(backend, ann, _log(emit), _log(prior), post, counts)
            class_sums = column_sums(post)
            lls.append(ll)
            if self._stop(lls):
                converged = True
                break
        total = counts + stored
        acc = np.trace(total, axis1=1, axis2=2) / np.maximum(total.sum(axis=(1, 2)), _TINY)
        return emit, prior, lls, converged, float(acc.mean())


class ModifiedDawidSkene(_EMConsolidator):
    """The AWS Modified Dawid-Skene of SageMaker Ground Truth (reference section 1), done right.

    Worker confusion matrices are shrunk toward one-coin matrices: the M-step adds
    ``n_j * P(acc_j) + (n_j / 2) * P(a_bar)`` pseudo-counts to the soft counts of worker ``j``
    (``P(a)``: ``a`` on the diagonal, ``(1 - a)/(K - 1)`` elsewhere; ``acc_j``: the worker's soft
    accuracy; ``a_bar``: mean worker accuracy, starting at ``initial_accuracy``). The class prior is
    the mean posterior. Unlike the notebook, the log-likelihood is computed in log space from the
    unnormalised posteriors and the stopping rule is ``|l_e - l_{e-1}| <= tol * |l_{e-1}|``.

    Parameters
    ----------
    max_iter : int, default 20
        Maximum number of epochs.
    tol : float, default 1e-8
        Relative log-likelihood tolerance.
    initial_accuracy : float, default 0.7
        Diagonal of every worker's starting matrix and the starting population accuracy.
    max_confidence : float, optional
        Cap on ``confidence_`` (0.95 emulates the service); posteriors are not changed.
    fixed_iter : int, optional
        Run exactly this many epochs and ignore ``tol``: ``fixed_iter=2`` or ``3`` reproduces the
        notebook, whose broken stopping test ends after 2-3 epochs.
    seed : int or Generator, optional
        Accepted for API symmetry; the algorithm is deterministic.
    backend : {"auto", "numba", "numpy"}, default "auto"
        Kernel implementation.

    Attributes
    ----------
    labels_, posteriors_, confidence_, confusions_, priors_, n_iter_, converged_,
    log_likelihoods_, worker_state_, item_ids_, classes_, worker_ids_ :
        As in :class:`DawidSkene`.
    population_accuracy_ : float
        Final mean worker accuracy.
    accuracies_ : ndarray of shape (n_workers,)
        Soft accuracy of each worker from the last M-step.

    Notes
    -----
    The class prior is re-estimated as the mean posterior at every epoch. On items with a single
    answer, or workers with few answers, this feeds back: a frequent class gains prior mass, pulls
    thin items toward it, and gains more. Run to convergence (unlike the notebook's accidental 2-3
    epochs) the AWS model can collapse onto the majority class on sparse data; the estimator stays
    faithful to AWS on purpose. :func:`default_estimator` is the recommended choice otherwise.

    Examples
    --------
    The worked example of reference section 1.9 (the notebook stops after 3 epochs):

    >>> rows = [("i1", "w1", "cat"), ("i1", "w2", "cat"), ("i1", "w3", "dog"),
    ...         ("i2", "w1", "dog"), ("i2", "w2", "dog"), ("i2", "w3", "dog"),
    ...         ("i3", "w1", "fox"), ("i3", "w2", "cat"), ("i3", "w3", "fox"),
    ...         ("i4", "w1", "cat"), ("i4", "w3", "cat")]
    >>> mds = ModifiedDawidSkene(fixed_iter=3, backend="numpy").fit(rows)
    >>> mds.labels_.tolist(), mds.confidence_.round(2).tolist()
    (['cat', 'dog', 'fox', 'cat'], [0.97, 0.99, 0.95, 0.99])
    """

    population_accuracy_: float
    accuracies_: NDArray[np.float64]

    def __init__(
        self,
        *,
        max_iter: int = 20,
        tol: float = 1e-8,
        initial_accuracy: float = 0.7,
        max_confidence: float | None = None,
        fixed_iter: int | None = None,
        seed: int | np.random.Generator | None = None,
        backend: str = "auto",
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.initial_accuracy = initial_accuracy
        self.max_confidence = max_confidence
        self.fixed_iter = fixed_iter
        self.seed = seed
        self.backend = backend

    def _validate(self) -> None:
        super()._validate()
        check_real("initial_accuracy", self.initial_accuracy, 0.0, 1.0)
        if self.max_confidence is not None:
            check_real("max_confidence", self.max_confidence, 0.0, 1.0, low_open=True)
        if self.fixed_iter is not None:
            check_count("fixed_iter", self.fixed_iter, 1, 1_000_000)

    def _confidence(self, post: NDArray[np.float64]) -> NDArray[np.float64]:
        conf: NDArray[np.float64] = post.max(axis=1)
        if self.max_confidence is not None:
            np.minimum(conf, float(self.max_confidence), out=conf)
        return conf

    @staticmethod
    def _smoothed(
        total: NDArray[np.float64], a_bar: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Shrink soft counts (w, l, t) toward one-coin matrices; return (emission, accuracy)."""
        k = total.shape[1]
        n = total.sum(axis=(1, 2))
        acc = np.trace(total, axis1=1, axis2=2) / np.maximum(n, _TINY)
        smoothed = (
            total
            + n[:, None, None] * one_coin(acc, k)
            + (n / 2.0)[:, None, None] * one_coin(a_bar, k)
        )
        # Normalise each true-class row t (axis 1 = given label l in this layout).
        smoothed /= np.maximum(smoothed.sum(axis=1, keepdims=True), _TINY)
        return smoothed, acc

    def _em(
        self,
        ann: Annotations,
        backend: Any,
        post: NDArray[np.float64],
        counts: NDArray[np.float64],
        stored: NDArray[np.float64],
        stored_n: NDArray[np.float64],
        warm: WorkerState | None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], list[float], bool, float]:
        k = ann.n_classes
        a_bar = float(self.initial_accuracy)
        if warm is not None and warm.n_workers > 0:  # an empty state has learned nothing
            a_bar = warm.population_accuracy
        emit = np.broadcast_to(
            one_coin(float(self.initial_accuracy), k), (ann.n_workers, k, k)
        ).copy()
        known = stored_n > 0
        if np.any(known):
            emit[known] = self._smoothed(stored[known], a_bar)[0]
        post[:] = 1.0 / k
        class_sums = np.full(k, ann.n_items / k)
        epochs = self.fixed_iter if self.fixed_iter is not None else self.max_iter
        lls: list[float] = []
        converged = False
        acc = np.full(ann.n_workers, float(self.initial_accuracy))
        prior = np.full(k, 1.0 / k)
        for _ in range(epochs):
            prior = class_sums / class_sums.sum()  # class prior = mean posterior
            ll = _sweep(backend, ann, _log(emit), _log(prior), post, counts)
            class_sums = column_sums(post)
            lls.append(ll)
            emit, acc = self._smoothed(counts + stored, a_bar)
            if self.fixed_iter is None and self._stop(lls):
                converged = True
                break
            a_bar = float(acc.mean())
        self.accuracies_ = acc
        self.population_accuracy_ = float(acc.mean())
        return emit, prior, lls, converged, self.population_accuracy_
