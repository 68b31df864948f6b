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

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor arguments as a dict (name -> current value).

        Parameters
        ----------
        deep : bool, default True
            Also return the arguments of arguments that are estimators themselves, as
            ``name__argument`` (scikit-learn's convention, so that ``sklearn.base.clone`` and
            grid searches work; e.g. ``base__initial_accuracy`` of a multi-label consolidator).
        """
        out = {name: getattr(self, name) for name in self._signature()}
        if deep:
            for name, value in list(out.items()):
                if _is_estimator(value):
                    out.update((f"{name}__{k}", v) for k, v in value.get_params(deep=True).items())
        return out

    def set_params(self, **params: Any) -> Any:
        """Change constructor arguments and return ``self``; values are checked by ``fit``.

        ``name__argument`` changes an argument of the estimator held in ``name``.

        Raises
        ------
        InvalidParameterError
            When a name is not a constructor argument (nothing is changed then).
        """
        names = self._signature()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, inner = key.partition("__")
            if name not in names or (inner and not _is_estimator(getattr(self, name))):
                raise InvalidParameterError(
                    key,
                    value,
                    f"a constructor argument of {type(self).__name__} ({', '.join(names)})"
                    + (f", or {name}__<argument> of the estimator in {name}" if inner else ""),
                )
            if inner:
                nested.setdefault(name, {})[inner] = value
        for name, inner_params in nested.items():  # first: they check their own names
            try:
                getattr(self, name).set_params(**inner_params)
            except InvalidParameterError as exc:
                raise InvalidParameterError(f"{name}__{exc.name}", exc.value, exc.allowed) from exc
        for key, value in params.items():
            if "__" not in key:
                setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name, param in self._signature().items()
            if param.default is inspect.Parameter.empty
            or _differs(getattr(self, name), param.default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


def _is_estimator(value: Any) -> bool:
    """Tell an estimator instance (not a class) with the get_params/set_params protocol."""
    return (
        not isinstance(value, type)
        and hasattr(value, "get_params")
        and hasattr(value, "set_params")
    )


def _differs(a: Any, b: Any) -> bool:
    """Return ``a != b`` as a bool; values that cannot be compared (arrays) count as different."""
    try:
        return bool(a != b)
    except Exception:
        return a is not b
