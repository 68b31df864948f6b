"""Parameter checks shared by the estimators, simulators and reports: one notion of a number.

A count is any integer (Python or numpy, never a bool); a real is any real number (``int``,
``float``, numpy scalars, ``fractions.Fraction``; never a bool, never NaN). Each check returns
the value converted (``int`` or ``float``) and raises :class:`InvalidParameterError`, which names
the parameter, the value and what is allowed, in the same words everywhere.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from ._errors import InvalidParameterError

__all__ = ["check_count", "check_real"]


def _is_count(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_count(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[minimum, maximum]``; else raise.

    Examples
    --------
    >>> import numpy as np
    >>> check_count("n_items", np.int64(3), 1)
    3
    >>> check_count("n_items", True, 1)
    Traceback (most recent call last):
    ...
    consolidation._errors.InvalidParameterError: invalid value for parameter 'n_items': True; \
    expected an integer >= 1
    """
    if _is_count(value) and minimum <= value and (maximum is None or value <= maximum):
        return int(value)
    if maximum is None:
        raise InvalidParameterError(name, value, f"an integer >= {minimum}")
    raise InvalidParameterError(name, value, f"an integer in [{minimum}, {maximum}]")


def check_real(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    finite: bool = True,
) -> float:
    """Return ``value`` as a ``float`` if it is a real number in its interval; else raise.

    Parameters
    ----------
    name : str
        The parameter's name, for the error.
    value : object
        What was given.
    low, high : float
        The interval's bounds, both included unless ``low_open``.
    low_open : bool, default False
        Exclude ``low`` itself (a strictly positive value: ``low=0, low_open=True``).
    finite : bool, default True
        Refuse ``inf`` and ``-inf`` even where the bounds are infinite. NaN is always refused.

    Examples
    --------
    >>> check_real("threshold", 0.5, 0.0, 1.0)
    0.5
    >>> check_real("temperature", 0.0, 0.0, low_open=True)
    Traceback (most recent call last):
    ...
    consolidation._errors.InvalidParameterError: invalid value for parameter 'temperature': 0.0; \
    expected a finite number > 0
    """
    if _is_real(value):
        x = float(value)
        above = low < x if low_open else low <= x
        if above and x <= high and (math.isfinite(x) or (not finite and not math.isnan(x))):
            return x
    raise InvalidParameterError(name, value, _interval(low, high, low_open, finite))


def _interval(low: float, high: float, low_open: bool, finite: bool) -> str:
    what = "a finite number" if finite else "a number"
    if math.isinf(low) and math.isinf(high):
        return what
    if math.isinf(high):
        return f"{what} {'>' if low_open else '>='} {low:g}"
    if math.isinf(low):
        return f"{what} <= {high:g}"
    return f"{what} in {'(' if low_open else '['}{low:g}, {high:g}]"
