"""Digamma and log-gamma, fused: the Dirichlet expectations of the variational Dawid-Skene.

:func:`~consolidation._dirichlet.dirichlet_stats` needs ``digamma`` and ``gammaln`` of every
pseudo-count of the confusion Dirichlets, every iteration. numba has no digamma, so
:func:`_psi_lgamma` computes both from the same pieces. An argument ``x < 8`` is shifted up by
the recurrences ``psi(x) = psi(x + 1) - 1 / x`` and ``lgamma(x) = lgamma(x + 1) - log(x)`` to
``z = x + c`` in ``[8, 9)``: the ``c`` factors ``x + i`` are multiplied into ``p`` and the sum of
their reciprocals is kept as the fraction ``d / p``, so the shift costs one division and one
``log(p)``, and no branch (the steps are selected, not skipped, so LLVM vectorises them). At
``z >= 8``, ten Bernoulli terms of the asymptotic series of ``psi`` and of Stirling's series of
``lgamma`` leave a truncation error below 1e-17. Against scipy, from 1e-300 to 1e300, the error is
a few units in the last place: for ``psi`` at most 2e-15 absolute where ``|psi| < 1`` (around its
zero at 1.4616, where relative error means nothing) and 2e-15 relative elsewhere; for ``lgamma``
8e-15 absolute where ``|lgamma| < 1`` and 6e-15 relative elsewhere
(tests/test_digamma_kernel.py).

The numpy twin is :mod:`scipy.special` (imported when it runs). The two backends agree to those
few ulps, not bit for bit; the serial and parallel builds of the kernel agree bit for bit (every
element is computed alone).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ._backend import Backend, Kernel

__all__ = ["DIGAMMA_GAMMALN", "PARALLEL_MIN_CELLS", "digamma_gammaln"]

prange = range  # numba.prange in the compiled copies (see Kernel(parallel=True))

F64 = NDArray[np.float64]

#: Below this many arguments the kernel runs single-threaded. On 2 idle cores two threads halve
#: the time from 15,000 arguments on; the margin is for cores that other processes share.
PARALLEL_MIN_CELLS = 50_000

_SHIFT = 8  # arguments below it are shifted to [8, 9) before the series
_HALF_LOG_2PI = 0.9189385332046727  # log(2 pi) / 2
#: B_2k / (2k), k = 1..10: psi(z) ~ log z - 1 / (2z) - sum of these times z^-2k.
_PSI_TERMS = (
    1 / 12,
    -1 / 120,
    1 / 252,
    -1 / 240,
    1 / 132,
    -691 / 32760,
    1 / 12,
    -3617 / 8160,
    43867 / 14364,
    -174611 / 6600,
)
#: B_2k / (2k (2k - 1)), k = 1..10: lgamma(z) ~ (z - 1/2) log z - z + log(2 pi) / 2 + the sum of
#: these times z^(1 - 2k) (Stirling's series).
_LGAMMA_TERMS = (
    1 / 12,
    -1 / 360,
    1 / 1260,
    -1 / 1680,
    1 / 1188,
    -691 / 360360,
    1 / 156,
    -3617 / 122400,
    43867 / 244188,
    -174611 / 125400,
)


def _psi_lgamma(x: float) -> tuple[float, float]:
    """Return ``(digamma(x), lgamma(x))`` for a positive finite ``x`` (see the module docstring)."""
    # Shift: p = prod(x + i), d / p = sum(1 / (x + i)) over the steps i with x + i < 8.
    p = 1.0
    d = 0.0
    c = 0.0
    for i in range(_SHIFT):
        y = x + i
        step = y < _SHIFT
        d_next = d * y + p
        p_next = p * y
        d = d_next if step else d
        p = p_next if step else p
        c = c + 1.0 if step else c
    z = x + c
    r = 1.0 / z
    f = r * r
    log_z = math.log(z)
    psi_sum = 0.0  # sum B_2k / (2k) f^(k - 1), by Horner from the last term
    lgamma_sum = 0.0  # sum B_2k / (2k (2k - 1)) f^(k - 1)
    for k in range(len(_PSI_TERMS) - 1, -1, -1):
        psi_sum = _PSI_TERMS[k] + f * psi_sum
        lgamma_sum = _LGAMMA_TERMS[k] + f * lgamma_sum
    psi = log_z - 0.5 * r - f * psi_sum
    lgamma = (z - 0.5) * log_z - z + _HALF_LOG_2PI + r * lgamma_sum
    return psi - d / p, lgamma - math.log(p)


def _digamma_gammaln_loop(x: F64, psi: F64, lgamma: F64) -> None:
    # Every element alone, so threads may share them in any way. No reduction in the loop:
    # LLVM vectorises all of the inlined helper but its two log calls.
    for t in prange(x.shape[0]):
        psi[t], lgamma[t] = _psi_lgamma(x[t])


def _digamma_gammaln_twin(x: F64, psi: F64, lgamma: F64) -> None:
    from scipy.special import digamma, gammaln  # lazy: keeps `import consolidation` light

    digamma(x, out=psi)
    gammaln(x, out=lgamma)


DIGAMMA_GAMMALN = Kernel(
    _digamma_gammaln_loop,
    _digamma_gammaln_twin,
    parallel=True,
    helpers=(_psi_lgamma,),
    inline_helpers=True,
)


def digamma_gammaln(backend: Backend, x: F64, psi: F64, lgamma: F64) -> None:
    """Write ``digamma(x)`` into ``psi`` and ``gammaln(x)`` into ``lgamma``.

    Parameters
    ----------
    backend : {"numba", "numpy"}
        Resolved backend: the fused kernel of this module, or :mod:`scipy.special`.
    x : ndarray of float64
        Positive finite arguments, C-contiguous, any shape (not validated: other values give
        meaningless results).
    psi, lgamma : ndarray of float64
        C-contiguous outputs of the shape of ``x`` (neither may be ``x`` itself).

    Notes
    -----
    The backends agree to a few units in the last place. From :data:`PARALLEL_MIN_CELLS`
    arguments on, the numba kernel runs multi-threaded (outside
    :func:`~._backend.serial_kernels`), with the same results.

    Examples
    --------
    >>> x = np.array([1.0, 0.5])
    >>> psi, lgamma = np.empty(2), np.empty(2)
    >>> digamma_gammaln("numpy", x, psi, lgamma)
    >>> psi.round(6).tolist(), lgamma.round(6).tolist()
    ([-0.577216, -1.96351], [0.0, 0.572365])
    """
    fn = DIGAMMA_GAMMALN.get(backend, parallel=x.size >= PARALLEL_MIN_CELLS)
    fn(x.reshape(-1), psi.reshape(-1), lgamma.reshape(-1))
