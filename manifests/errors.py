"""Exceptions raised by :mod:`manifests`.

Every problem found in the data names where it is: the source (file name, ``<stdin>`` or
``<lines>``), the 1-based physical line number, and the field, written as a JSON path such as
``category.annotations[2].class_id``. Exceptions caused by another exception (a JSON decode
error, a type error) chain it with ``raise ... from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AmbiguousLabelError",
    "FieldError",
    "InvalidLineError",
    "InvalidNameError",
    "ManifestError",
]


class ManifestError(Exception):
    """Base class of every error raised by :mod:`manifests`."""


class FieldError(ManifestError, ValueError):
    """A field of a record has a value this package cannot use.

    Raised by the typed label views of :mod:`manifests.records`, which do not know where the
    record came from; transforms turn it into an :class:`InvalidLineError` (or a rejection) that
    adds the source and the line number.

    Parameters
    ----------
    field : str
        JSON path of the field, e.g. ``"category-metadata.objects"``.
    reason : str
        What is wrong with it.

    Examples
    --------
    >>> str(FieldError("category-metadata.objects", "expected a list, got str"))
    'category-metadata.objects: expected a list, got str'
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidLineError(ManifestError, ValueError):
    """A line of a manifest is invalid.

    Parameters
    ----------
    lineno : int
        1-based physical line number in the source (blank lines count); 0 when the source is a
        JSON document rather than JSON Lines.
    line : str
        The offending line as read (without the line break).
    field : str
        JSON path of the offending field; ``<line>`` when the line as a whole is invalid (not
        UTF-8, not JSON, not an object, too long).
    reason : str
        What is wrong.
    source : str
        Name of the source: a path, ``<stdin>``, ``<lines>``.

    Examples
    --------
    >>> err = InvalidLineError(3, '{"a": NaN}', "<line>", "NaN is not valid JSON",
    ...                        source="in.manifest")
    >>> str(err)
    'in.manifest:3: <line>: NaN is not valid JSON'
    >>> (err.source, err.lineno, err.field)
    ('in.manifest', 3, '<line>')
    """

    def __init__(
        self, lineno: int, line: str, field: str, reason: str = "", *, source: str = "<input>"
    ) -> None:
        super().__init__(lineno, line, field, reason)
        self.lineno = lineno
        self.line = line
        self.field = field
        self.reason = reason
        self.source = source

    @property
    def location(self) -> str:
        """``source:lineno`` (just ``source`` for a whole-document error)."""
        return f"{self.source}:{self.lineno}" if self.lineno else self.source

    def __str__(self) -> str:
        return f"{self.location}: {self.field}: {self.reason}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_invalid_line,
            (self.lineno, self.line, self.field, self.reason, self.source),
        )


def _rebuild_invalid_line(
    lineno: int, line: str, field: str, reason: str, source: str
) -> InvalidLineError:
    return InvalidLineError(lineno, line, field, reason, source=source)


class AmbiguousLabelError(InvalidLineError):
    """A line has several label attributes and the caller did not say which one to work on.

    Raised at once by every transform that works on one label attribute, whatever the
    accounting's ``on_error`` says: the choice is the caller's (``attribute=``, ``-a`` on the
    command line), not a fault of the line, so rejecting line after line would only hide it.

    Parameters
    ----------
    attributes : sequence of str
        The label attributes of the line, in order.
    lineno, line, source
        Where the line is and what it says (as in :class:`InvalidLineError`).

    Examples
    --------
    >>> line = '{"a-metadata":{"job-name":"j"},"b-metadata":{"job-name":"k"}}'
    >>> err = AmbiguousLabelError(["a", "b"], lineno=4, source="out.manifest", line=line)
    >>> str(err)
    'out.manifest:4: <labels>: 2 label attributes (a, b): choose one'
    >>> err.attributes, err.line == line
    (('a', 'b'), True)
    """

    def __init__(
        self,
        attributes: Sequence[str],
        *,
        lineno: int = 0,
        source: str = "<input>",
        line: str = "",
    ) -> None:
        self.attributes = tuple(attributes)
        names = ", ".join(self.attributes)
        reason = f"{len(self.attributes)} label attributes ({names}): choose one"
        super().__init__(lineno, line, "<labels>", reason, source=source)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_ambiguous, (self.attributes, self.lineno, self.source, self.line))


def _rebuild_ambiguous(
    attributes: Sequence[str], lineno: int, source: str, line: str = ""
) -> AmbiguousLabelError:
    return AmbiguousLabelError(attributes, lineno=lineno, source=source, line=line)


class InvalidNameError(ManifestError, ValueError):
    """A label attribute name breaks the Ground Truth naming rules.

    The rules (reference section 3.2): the name must not be empty, must not end with
    ``-metadata``, must not be ``source`` or ``source-ref``, must not contain ``$``, and must end
    with ``-ref`` exactly for semantic segmentation, video frame and point-cloud tasks.

    Examples
    --------
    >>> str(InvalidNameError("birds-metadata", "must not end with '-metadata'"))
    "label attribute name 'birds-metadata': must not end with '-metadata'"
    """

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, reason)
        self.name = name
        self.reason = reason

    def __str__(self) -> str:
        return f"label attribute name {self.name!r}: {self.reason}"
