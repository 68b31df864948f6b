"""Constructor arguments of every estimator, read back, changed and shown (scikit-learn style)."""

from __future__ import annotations

import inspect
from typing import Any

from ._errors import InvalidParameterError

__all__ = ["Params"]


class Params:
    """Mixin for estimators whose keyword-only constructor arguments are only stored.

    Each argument is kept under its own name, so :meth:`get_params` can read them back from the
    signature, :meth:`set_params` can change them (validation happens in ``fit``, as in
    scikit-learn) and ``repr`` shows the ones that differ from their defaults.

    Examples
    --------
    >>> from consolidation import DawidSkene
    >>> est = DawidSkene(max_iter=50)
    >>> est
    DawidSkene(max_iter=50)
    >>> est.set_params(tol=1e-8, backend="numpy") is est
    True
    >>> est.get_params()["tol"], est.get_params()["max_iter"]
    (1e-08, 50)
    >>> DawidSkene().set_params(max_iters=5)
    Traceback (most recent call last):
    ...
    consolidation._errors.InvalidParameterError: invalid value for parameter 'max_iters': 5; \
expected a constructor argument of DawidSkene (max_iter, tol, init, smoothing, seed, backend)
    """

    @classmethod
    def _signature(cls) -> dict[str, inspect.Parameter]:
        params = inspect.signature(cls.__init__).parameters
        return {name: param for name, param in params.items() if name != "self"}

    def get_params(self) -> dict[str, Any]:
        """Return the constructor arguments as a dict (name -> current value)."""
        return {name: getattr(self, name) for name in self._signature()}

    def set_params(self, **params: Any) -> Any:
        """Change constructor arguments and return ``self``; values are checked by ``fit``.

        Raises
        ------
        InvalidParameterError
            When a name is not a constructor argument (nothing is changed then).
        """
        names = self._signature()
        for name, value in params.items():
            if name not in names:
                raise InvalidParameterError(
                    name,
                    value,
                    f"a constructor argument of {type(self).__name__} ({', '.join(names)})",
                )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name, param in self._signature().items()
            if param.default is inspect.Parameter.empty
            or _differs(getattr(self, name), param.default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


def _differs(a: Any, b: Any) -> bool:
    """Return ``a != b`` as a bool; values that cannot be compared (arrays) count as different."""
    try:
        return bool(a != b)
    except Exception:
        return a is not b
