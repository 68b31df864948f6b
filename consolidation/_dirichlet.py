"""Dirichlet helpers of the variational Dawid-Skene: expectations, KL terms, and the pooled mean.

Private; :mod:`.bayesian_ds` is their user. scipy is imported lazily, inside each function, so
that ``import consolidation`` stays light (a Lambda cold start).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


def dirichlet_stats(a: F64, axis: int) -> tuple[F64, float]:
    """E[log p] under Dir(a) along ``axis``, and the sum of log B(a) over every simplex.

    ``KL(Dir(a) || Dir(b)) = log B(b) - log B(a) + sum((a - b) * E_a[log p])`` per simplex, with
    ``log B(a) = sum(gammaln(a)) - gammaln(sum(a))``; whole-array sums keep it cheap.
    """
    from scipy.special import digamma, gammaln  # lazy: keeps `import consolidation` light

    total = a.sum(axis=axis, keepdims=True)
    elog: F64 = digamma(a)
    elog -= digamma(total)
    return elog, float(gammaln(a).sum() - gammaln(total).sum())


def kl_dirichlet(a: F64, b: F64, axis: int) -> float:
    """Sum of KL(Dir(a) || Dir(b)) over every simplex along ``axis``."""
    elog, log_beta_a = dirichlet_stats(a, axis)
    return dirichlet_stats(b, axis)[1] - log_beta_a + float(((a - b) * elog).sum())


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
