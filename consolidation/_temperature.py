"""Temperature scaling of posteriors (Guo et al. 2017), fitted on a few gold items.

Crowd models assume workers err independently; real workers do not, so posteriors on real crowds
are overconfident. One temperature ``T`` per data set, ``p_T ∝ p ** (1 / T)``, keeps every label
(the argmax does not move) and makes confidences honest again when ``T`` is fitted on items with
known answers. ``T`` is chosen to minimise the Brier score, which a few confident mistakes cannot
dominate the way they dominate the log-loss.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._errors import InvalidParameterError

__all__ = ["fit_temperature_codes", "temper"]

F64 = NDArray[np.float64]

#: Temperatures searched, as ``log T``: from sharpening 20x to flattening 100x.
_LOG_T_BOUNDS = (float(np.log(0.05)), float(np.log(100.0)))


def temper(posteriors: ArrayLike, temperature: float) -> F64:
    """Return posteriors raised to ``1 / temperature`` and renormalised, row by row.

    ``temperature > 1`` flattens (less confident), ``< 1`` sharpens; labels never change. Computed
    in log space; classes with zero posterior stay at zero.

    Parameters
    ----------
    posteriors : array_like of shape (n, K)
        Rows that sum to 1.
    temperature : float
        A positive, finite number.

    Returns
    -------
    ndarray of shape (n, K)

    Examples
    --------
    >>> temper([[0.9, 0.1], [0.5, 0.5]], 2.0).round(3).tolist()
    [[0.75, 0.25], [0.5, 0.5]]
    """
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float | np.integer | np.floating)
        or not np.isfinite(temperature)
        or temperature <= 0
    ):
        raise InvalidParameterError("temperature", temperature, "a positive, finite number")
    post = np.asarray(posteriors, dtype=np.float64)
    if post.ndim != 2:
        raise InvalidParameterError("posteriors", f"shape {post.shape}", "an (n, K) array")
    if not np.all(np.isfinite(post)) or np.any(post < 0):
        raise InvalidParameterError(
            "posteriors", "negative, NaN or infinite values", "rows of probabilities"
        )
    with np.errstate(divide="ignore"):
        logp = np.log(post) / float(temperature)
    top = logp.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0  # an all-zero row stays all zero
    out: F64 = np.exp(logp - top)
    total = out.sum(axis=1, keepdims=True)
    np.divide(out, total, out=out, where=total > 0)
    return out


def _brier(post: F64, codes: NDArray[np.intp], temperature: float) -> float:
    p = temper(post, temperature)
    known = codes < p.shape[1]  # a gold class no worker chose has posterior 0: an error
    p[np.flatnonzero(known), codes[known]] -= 1.0
    return float(np.mean((p * p).sum(axis=1) + ~known))


def fit_temperature_codes(post: F64, codes: NDArray[np.intp]) -> float:
    """Return the temperature with the lowest Brier score of ``post`` against gold ``codes``."""
    from scipy.optimize import minimize_scalar  # lazy: keeps `import consolidation` light

    res = minimize_scalar(
        lambda log_t: _brier(post, codes, float(np.exp(log_t))),
        bounds=_LOG_T_BOUNDS,
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(res.x))
