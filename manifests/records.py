"""Manifest records and typed, read-only views of their label attributes.

A :class:`Record` is a ``dict`` (key order, unknown keys and strings are kept exactly as read)
that also remembers where it came from (``source``, ``lineno``) and, while it is unmodified, the
raw line it was parsed from, so that writers can copy unchanged lines verbatim.

A label attribute is a key ``<a>`` whose companion ``<a>-metadata`` is an object holding ``type``
or ``job-name`` (reference section 3.2). ``<a>`` itself may be missing: that is a failed object.
Keys ending in ``-metadata`` that are not such objects (``annotator-metadata: {"Info": ...}``)
are ordinary keys. :meth:`Record.labels` returns one typed view per label attribute; the views
interpret the JSON tolerantly (optional confidence, int or string class ids) and raise
:class:`~manifests.errors.FieldError` naming the field when a value cannot be used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from manifests._values import Box, ColorEntry, Entity, ImageSize, expect_dict
from manifests._views import (
    META,
    BoxLabel,
    ClassificationLabel,
    CustomLabel,
    Label,
    MultiLabel,
    VerificationLabel,
)
from manifests._views_more import SegmentationLabel, SpanLabel, VideoLabel

__all__ = [
    "Box",
    "BoxLabel",
    "ClassificationLabel",
    "ColorEntry",
    "CustomLabel",
    "Entity",
    "ImageSize",
    "Label",
    "MultiLabel",
    "Record",
    "SegmentationLabel",
    "SpanLabel",
    "VerificationLabel",
    "VideoLabel",
    "label_view",
]
_dget = dict.get
_ditems = dict.items
_dcontains = dict.__contains__
_dsetitem = dict.__setitem__
_ddelitem = dict.__delitem__


class Record(dict[str, Any]):
    """One manifest line: a ``dict`` that keeps key order and remembers its origin.

    Parameters
    ----------
    data : mapping or iterable of pairs, optional
        The JSON object of the line.
    raw : str, optional
        The exact JSON text of ``data`` (one line, no line break). Writers copy it verbatim as long
        as the record is unmodified.
    source : str, optional
        Name of the file or stream the line came from.
    lineno : int, optional
        1-based physical line number in ``source`` (0 when unknown).

    Notes
    -----
    The raw line is dropped (``modified`` becomes true) by every mutating method and, to stay on
    the safe side, by every access that hands out a nested ``dict`` or ``list`` (``rec[k]``,
    ``rec.get(k)``, ``items()``, ``values()``), since the caller may change it in place. If you
    change nested values reached in another way, call :meth:`mark_modified`. Serialising a
    record (:func:`~manifests.io.dumps`, :func:`~manifests.io.write`) only reads it: its raw
    line is kept.

    Examples
    --------
    >>> rec = Record({"source-ref": "s3://b/1.jpg", "x": 1}, raw='{"source-ref":"s3://b/1.jpg","x":1}')
    >>> rec.modified
    False
    >>> rec["x"] = 2
    >>> rec.modified, rec.raw
    (True, None)
    >>> list(rec)
    ['source-ref', 'x']
    """

    __slots__ = ("_raw", "lineno", "source")

    _raw: str | None
    source: str
    lineno: int

    def __init__(
        self,
        data: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
        /,
        *,
        raw: str | None = None,
        source: str = "<memory>",
        lineno: int = 0,
    ) -> None:
        dict.__init__(self, data)
        self._raw = raw
        self.source = source
        self.lineno = lineno

    # -- origin and raw line -------------------------------------------------------------------
    @property
    def raw(self) -> str | None:
        """The line this record was parsed from, or None once the record may have changed."""
        return self._raw

    @property
    def modified(self) -> bool:
        """True when the record may differ from its raw line (or never had one)."""
        return self._raw is None

    def mark_modified(self) -> None:
        """Forget the raw line: writers will serialise the record instead of copying the line."""
        self._raw = None

    @property
    def location(self) -> str:
        """``source:lineno`` for messages."""
        return f"{self.source}:{self.lineno}"

    # -- mutators drop the raw line --------------------------------------------------------------
    def __setitem__(self, key: str, value: Any) -> None:
        self._raw = None
        _dsetitem(self, key, value)

    def __delitem__(self, key: str) -> None:
        self._raw = None
        _ddelitem(self, key)

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        if isinstance(value, (dict, list)):
            self._raw = None
        return value

    def get(self, key: str, default: Any = None) -> Any:  # noqa: D102
        value = _dget(self, key, default)
        if isinstance(value, (dict, list)):
            self._raw = None
        return value

    def items(self) -> Any:  # noqa: D102
        self._raw = None
        return dict.items(self)

    def values(self) -> Any:  # noqa: D102
        self._raw = None
        return dict.values(self)

    def pop(self, key: str, *default: Any) -> Any:  # noqa: D102
        self._raw = None
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, Any]:  # noqa: D102
        self._raw = None
        return dict.popitem(self)

    def clear(self) -> None:  # noqa: D102
        self._raw = None
        dict.clear(self)

    def update(self, *args: Any, **kwargs: Any) -> None:  # noqa: D102
        self._raw = None
        dict.update(self, *args, **kwargs)

    def setdefault(self, key: str, default: Any = None) -> Any:  # noqa: D102
        self._raw = None
        return dict.setdefault(self, key, default)

    def __ior__(self, other: Any) -> Record:  # type: ignore[override,misc]
        self._raw = None
        dict.update(self, other)
        return self

    def copy(self) -> Record:
        """Shallow copy, keeping the origin but not the raw line."""
        return Record(self, source=self.source, lineno=self.lineno)

    def __repr__(self) -> str:
        return f"Record({dict.__repr__(self)})"

    # -- label attributes --------------------------------------------------------------------------
    @property
    def data_key(self) -> str | None:
        """``"source-ref"`` or ``"source"``, whichever the line has (None if neither)."""
        if _dcontains(self, "source-ref"):
            return "source-ref"
        if _dcontains(self, "source"):
            return "source"
        return None

    def label_attributes(self) -> list[str]:
        """Names of the label attributes of this line, in the order of their metadata keys.

        Examples
        --------
        >>> Record({"source": "t", "a": 1,
        ...         "a-metadata": {"type": "groundtruth/text-classification"},
        ...         "notes-metadata": {"Info": "x"}}).label_attributes()
        ['a']
        """
        return [
            key[:-9]
            for key, meta in _ditems(self)
            if type(meta) is dict and key.endswith(META) and ("type" in meta or "job-name" in meta)
        ]

    def labels(self) -> list[Label]:
        """Typed views of every label attribute of this line.

        Examples
        --------
        >>> rec = Record({"source-ref": "s3://b/1.jpg", "birds": 4,
        ...     "birds-metadata": {"class-name": "Parrot", "confidence": 0.95,
        ...                        "type": "groundtruth/image-classification"}})
        >>> [(lab.attribute, lab.kind, lab.label_id, lab.class_name) for lab in rec.labels()]
        [('birds', 'classification', 4, 'Parrot')]
        """
        out: list[Label] = []
        for key, meta in _ditems(self):
            if type(meta) is dict and key.endswith(META) and ("type" in meta or "job-name" in meta):
                out.append(label_view(self, key[:-9], meta))
        return out

    def label(self, attribute: str) -> Label | None:
        """Typed view of one label attribute, or None when the line has no such label."""
        meta = _dget(self, attribute + META)
        if type(meta) is dict and ("type" in meta or "job-name" in meta):
            return label_view(self, attribute, meta)
        return None


# -------------------------------------------------------------------------------------------------
# task type -> view
# -------------------------------------------------------------------------------------------------

_KINDS: dict[str, type[Label]] = {
    "groundtruth/image-classification": ClassificationLabel,
    "groundtruth/text-classification": ClassificationLabel,
    "groundtruth/image-classification-multilabel": MultiLabel,
    "groundtruth/text-classification-multilabel": MultiLabel,
    "groundtruth/object-detection": BoxLabel,
    "groundtruth/semantic-segmentation": SegmentationLabel,
    "groundtruth/text-span": SpanLabel,
    "groundtruth/label-verification": VerificationLabel,
    "groundtruth/video-object-detection": VideoLabel,
    "groundtruth/video-object-tracking": VideoLabel,
    "groundtruth/custom": CustomLabel,
}


def _infer(meta: dict[str, Any], value: Any) -> type[Label]:
    """Guess the task type of a label whose metadata has no (known) ``type``."""
    if type(value) is dict and "annotations" in value and "image_size" in value:
        return BoxLabel
    if type(value) is list and "class-map" in meta:
        return MultiLabel
    if (type(value) is int or type(value) is str) and "class-name" in meta:
        return ClassificationLabel
    if "internal-color-map" in meta:
        return SegmentationLabel
    return CustomLabel


def label_view(record: Record, attribute: str, meta: dict[str, Any] | None = None) -> Label:
    """Build the typed view of ``attribute`` for ``record`` from its metadata ``type``.

    Unknown or missing types are inferred from the shape of the value; anything else is a
    :class:`CustomLabel`.

    Examples
    --------
    >>> rec = Record({"source": "x", "a-metadata": {"type": "groundTruth/custom", "job-name": "j"}})
    >>> view = label_view(rec, "a")
    >>> type(view).__name__, view.failed
    ('CustomLabel', True)
    """
    if meta is None:
        meta = expect_dict(_dget(record, attribute + META), attribute + META)
    kind = meta.get("type")
    cls = _KINDS.get(kind) if type(kind) is str else None
    if cls is None and type(kind) is str:
        cls = _KINDS.get(kind.lower())
    if cls is None:
        cls = _infer(meta, _dget(record, attribute))
    return cls(record, attribute, meta)
