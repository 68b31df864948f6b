"""Dirichlet helpers of the variational Dawid-Skene: expectations, KL terms, and the pooled mean.

Private; :mod:`.bayesian_ds` is their user. scipy is imported lazily, inside each function, so
that ``import consolidation`` stays light (a Lambda cold start). :func:`dirichlet_stats` and
:func:`kl_dirichlet` take the fit's backend: on numba, digamma and log-gamma are the fused kernel
of :mod:`._kernels.digamma`; on numpy, :mod:`scipy.special`. The fixed point of
:func:`pooled_mean` keeps scipy on both backends (a (K, K * M) array, a few sweeps an iteration).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._kernels._backend import Backend
from ._kernels.digamma import digamma_gammaln

F64 = NDArray[np.float64]


def dirichlet_stats(
    a: F64,
    axis: int,
    backend: Backend = "numpy",
    out: F64 | None = None,
    work: F64 | None = None,
) -> tuple[F64, float]:
    """E[log p] under Dir(a) along ``axis``, and the sum of log B(a) over every simplex.

    ``KL(Dir(a) || Dir(b)) = log B(b) - log B(a) + sum((a - b) * E_a[log p])`` per simplex, with
    ``log B(a) = sum(gammaln(a)) - gammaln(sum(a))``; whole-array sums keep it cheap.

    Parameters
    ----------
    a : ndarray of float64
        Positive pseudo-counts; each simplex runs along ``axis``.
    axis : int
        The simplex axis.
    backend : {"numba", "numpy"}, default "numpy"
        Resolved backend of ``digamma`` and ``gammaln``: the fused kernel of
        :mod:`._kernels.digamma`, or :mod:`scipy.special`. They agree to a few ulps (1e-14
        relative), not bit for bit; the sums and the subtraction are the same numpy code.
    out, work : ndarray of float64, optional
        Preallocated C-contiguous arrays of the shape of ``a`` (not checked): ``out`` receives
        ``E[log p]``, ``work`` is overwritten (``gammaln(a)``). For large arrays in loops: a
        fresh array costs a page fault per 4 KiB on its first write.

    Returns
    -------
    elog : ndarray of float64
        ``digamma(a) - digamma(a.sum(axis))``, of the shape of ``a`` (``out`` if given).
    log_beta : float
        ``sum(gammaln(a)) - sum(gammaln(a.sum(axis)))``.

    Examples
    --------
    >>> elog, log_beta = dirichlet_stats(np.array([[1.0, 1.0], [2.0, 3.0]]), 1)
    >>> elog.round(4).tolist(), round(log_beta, 4)
    ([[-1.0, -1.0], [-1.0833, -0.5833]], -2.4849)
    """
    a = np.ascontiguousarray(a, dtype=np.float64)  # the kernel reads and writes flat views
    total = np.ascontiguousarray(a.sum(axis=axis, keepdims=True))
    psi_total = np.empty_like(total)
    lgamma_total = np.empty_like(total)
    elog = np.empty_like(a) if out is None else out
    lgamma = np.empty_like(a) if work is None else work
    digamma_gammaln(backend, total, psi_total, lgamma_total)
    digamma_gammaln(backend, a, elog, lgamma)
    elog -= psi_total
    return elog, float(lgamma.sum() - lgamma_total.sum())


def kl_dirichlet(a: F64, b: F64, axis: int, backend: Backend = "numpy") -> float:
    """Sum of KL(Dir(a) || Dir(b)) over every simplex along ``axis`` (see :func:`dirichlet_stats`).

    Examples
    --------
    >>> kl_dirichlet(np.array([2.0, 2.0]), np.array([2.0, 2.0]), 0)
    0.0
    """
    elog, log_beta_a = dirichlet_stats(a, axis, backend)
    return dirichlet_stats(b, axis, backend)[1] - log_beta_a + float(((a - b) * elog).sum())


def pooled_mean(beta: F64, mean_elog: F64, strength: float, sweeps: int = 50) -> F64:
    """Refit the mean of the pooled confusion prior, keeping ``strength`` pseudo-counts per state.

    ``beta`` (label, state) gives the starting mean; the new mean best explains the workers'
    average ``E[log pi]`` (Minka 2000, the fixed-point update at a fixed precision).
    """
    from scipy.special import digamma

    mean = beta / beta.sum(axis=0, keepdims=True)
    for _ in range(sweeps):  # from the last iteration's mean, a few sweeps usually suffice
        shift = (mean * (mean_elog - digamma(strength * mean))).sum(axis=0, keepdims=True)
        new = inverse_digamma(mean_elog - shift)
        new /= new.sum(axis=0, keepdims=True)
        done = float(np.max(np.abs(new - mean))) <= 1e-12
        mean = new
        if done:
            break
    mean = np.maximum(mean, 1e-9)  # keep every pseudo-count positive, and the total exact
    out: F64 = strength * (mean / mean.sum(axis=0, keepdims=True))
    return out


def inverse_digamma(y: F64, newton: int = 5) -> F64:
    """Solve ``digamma(x) = y`` by Newton's method from Minka's starting point."""
    from scipy.special import digamma, zeta

    x: F64 = np.where(y >= -2.22, np.exp(y) + 0.5, -1.0 / (y + 0.5772156649015329))
    for _ in range(newton):
        x = x - (digamma(x) - y) / zeta(2.0, x)  # zeta(2, x) is the trigamma function
    return x
