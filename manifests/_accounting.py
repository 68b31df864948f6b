"""Line accounting shared by the reader, the transforms and the writer of a pipeline."""

from __future__ import annotations

import reprlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from manifests._values import quantity
from manifests.errors import InvalidLineError, ManifestError

if TYPE_CHECKING:
    from manifests.records import Record

__all__ = ["Accounting", "OnError", "Rejection", "shown_record"]

OnError = Literal["raise", "skip", "collect"]
_ON_ERROR = ("raise", "skip", "collect")


_repr = reprlib.Repr()
_repr.maxlevel = 4
_repr.maxdict = _repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxfrozenset = 20
_repr.maxstring = _repr.maxother = 200
_SHOWN_MAX = 2000


def shown_record(record: Any) -> str:
    """Return a record as text for a message: JSON if it can be, else a shortened ``repr``.

    Never raises: a record that cannot be serialised (a set, nesting deeper than the
    interpreter's recursion limit) is shown through :mod:`reprlib` (at most four levels deep,
    about 2,000 characters).

    Examples
    --------
    >>> shown_record({"source": "a", "n": 1})
    '{"source":"a","n":1}'
    >>> shown_record({"x": {1}})
    "{'x': {1}}"
    >>> shown_record({"a": [[[[[{1}]]]]]})
    "{'a': [[[[...]]]]}"
    """
    from manifests._writing import dumps  # _writing imports this module

    try:
        return dumps(record, strict=False)
    except Exception:  # not JSON: the repr below says what it is
        pass
    try:
        text = _repr.repr(dict(record) if isinstance(record, dict) else record)
    except Exception:  # pragma: no cover - a value whose repr fails
        return f"<{type(record).__name__} that cannot be shown>"
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."


class Rejection(NamedTuple):
    """One rejected line: where it is, which field, and why."""

    source: str
    lineno: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.lineno}" if self.lineno else self.source
        return f"{where}: {self.field}: {self.reason}"


@dataclass
class Accounting:
    """Counts of what a pipeline read, wrote, filtered out and rejected.

    One instance is shared by the reader, every transform and the writer of a pipeline. The
    reader counts ``read`` (non-blank lines), ``blank`` and lines that are not JSON objects
    (``rejected``); transforms count lines removed by the user's rule (``filtered``) and lines
    they cannot process (``rejected``); the writer counts ``written``. When the pipeline is
    drained, ``read == written + filtered + rejected``.

    Parameters
    ----------
    on_error : {"raise", "skip", "collect"}
        What to do with an invalid line: raise :class:`~manifests.errors.InvalidLineError`, drop
        it and count it, or drop it, count it and keep a :class:`Rejection` for it in
        ``rejections`` (at most ``max_rejections`` of them; the rest are only counted).
    max_rejections : int
        Bound on the number of :class:`Rejection` entries kept, so memory stays constant.

    Examples
    --------
    >>> from manifests.io import read
    >>> acc = Accounting(on_error="collect")
    >>> recs = list(read(['{"source": "a"}', "", "{oops", '{"source": "b"}'], accounting=acc))
    >>> acc.summary()
    'read 3, written 0, filtered 0, rejected 1, blank 1'
    >>> print(acc.rejections[0])
    <lines>:3: <line>: invalid JSON: Expecting property name enclosed in double quotes (column 2)
    """

    on_error: OnError = "raise"
    max_rejections: int = 1000
    read: int = 0
    written: int = 0
    filtered: int = 0
    rejected: int = 0
    blank: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.on_error not in _ON_ERROR:
            raise ValueError(f"on_error must be one of {_ON_ERROR}, got {self.on_error!r}")

    def reject(
        self,
        source: str,
        lineno: int,
        field: str,
        reason: str,
        *,
        line: str = "",
        cause: BaseException | None = None,
    ) -> None:
        """Count an invalid line; raise :class:`InvalidLineError` when ``on_error="raise"``."""
        self.rejected += 1
        if self.on_error == "raise":
            raise InvalidLineError(lineno, line, field, reason, source=source) from cause
        if self.on_error == "collect" and len(self.rejections) < self.max_rejections:
            self.rejections.append(Rejection(source, lineno, field, reason))

    def reject_record(
        self, record: Record, field: str, reason: str, cause: BaseException | None = None
    ) -> None:
        """:meth:`reject` for a parsed record (its raw line, if kept, goes into the error).

        A record without its raw line is shown as JSON or, when it cannot be (a value that is not
        JSON, nesting too deep), as a shortened ``repr``: reporting a record never fails on it.
        """
        line = record.raw
        if line is None:
            line = shown_record(record)
        self.reject(record.source, record.lineno, field, reason, line=line, cause=cause)

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the named extra counter (e.g. ``"boxes removed"``)."""
        self.counters[name] = self.counters.get(name, 0) + n

    @property
    def in_flight(self) -> int:
        """Lines read but not yet written, filtered or rejected (0 once a pipeline is drained)."""
        return self.read - self.written - self.filtered - self.rejected

    @property
    def balanced(self) -> bool:
        """True when ``read == written + filtered + rejected``."""
        return self.in_flight == 0

    def check(self) -> None:
        """Raise :class:`~manifests.errors.ManifestError` if some line is unaccounted for."""
        if not self.balanced:
            raise ManifestError(f"accounting does not balance: {self.summary()}")

    def summary(self, written: str = "written") -> str:
        """One line: ``read N, written N, filtered N, rejected N, blank N[; extra counters]``.

        ``written`` renames the sink count, e.g. ``"valid"`` for a validation.
        """
        text = (
            f"read {self.read}, {written} {self.written}, filtered {self.filtered}, "
            f"rejected {self.rejected}, blank {self.blank}"
        )
        if self.counters:
            text += "; " + ", ".join(f"{k} {v}" for k, v in self.counters.items())
        if self.rejected > len(self.rejections) and self.rejections:
            unlisted = quantity(self.rejected - len(self.rejections), "rejection")
            text += f" ({unlisted} not listed)"
        return text
