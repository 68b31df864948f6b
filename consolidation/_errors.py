"""Exceptions raised by the consolidation package."""

from __future__ import annotations

from typing import Any

__all__ = ["AnnotationError", "InvalidParameterError", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` was called.

    Subclasses both :class:`ValueError` and :class:`AttributeError`, as scikit-learn does, so code
    written for either convention catches it.
    """


class InvalidParameterError(ValueError):
    """A constructor or ``fit`` argument has a value that is not allowed.

    Parameters
    ----------
    name : str
        The parameter's name.
    value : object
        The value that was given.
    allowed : str
        What is allowed, in words.
    """

    def __init__(self, name: str, value: Any, allowed: str) -> None:
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid value for parameter {name!r}: {value!r}; expected {allowed}")


class AnnotationError(ValueError):
    """Annotations are malformed: empty, inconsistent, or with a value that cannot be encoded.

    The message names the offending row, item, worker or label where one is known.
    """
