"""Typed, read-only views of a record's label attributes, one class per task type.

Built by :func:`label_view` (and :meth:`manifests.records.Record.labels`); re-exported by
:mod:`manifests.records`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from manifests._values import (
    Box,
    ImageSize,
    _tname,
    as_int_id,
    as_number,
    as_optional_number,
    expect_dict,
    expect_list,
    parse_class_map,
    quantity,
)
from manifests.errors import FieldError

if TYPE_CHECKING:
    from manifests.records import Record

__all__ = [
    "META",
    "BoxLabel",
    "ClassificationLabel",
    "CustomLabel",
    "Label",
    "MultiLabel",
    "VerificationLabel",
]

META = "-metadata"
_dget = dict.get
_dcontains = dict.__contains__


# -------------------------------------------------------------------------------------------------
# views
# -------------------------------------------------------------------------------------------------


class Label:
    """Read-only view of one label attribute ``<a>`` / ``<a>-metadata`` of a record.

    Subclasses add the task-specific accessors. Accessors parse on demand and raise
    :class:`~manifests.errors.FieldError` naming the field when a value is unusable.
    """

    __slots__ = ("_meta", "attribute", "record")

    kind: ClassVar[str] = "label"

    def __init__(
        self, record: Record, attribute: str, metadata: dict[str, Any] | None = None
    ) -> None:
        self.record = record
        self.attribute = attribute
        if metadata is None:
            metadata = _dget(record, attribute + META)
            if type(metadata) is not dict:
                metadata = {}
        # the metadata object, read in place (views do not copy; see Record.labels)
        self._meta: dict[str, Any] = metadata

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.attribute!r}, line {self.record.lineno})"

    @property
    def metadata_key(self) -> str:
        """``<a>-metadata``."""
        return self.attribute + META

    def _m(self, key: str) -> Any:
        return _dget(self._meta, key)

    @property
    def has_value(self) -> bool:
        """True when the label value ``<a>`` is present."""
        return _dcontains(self.record, self.attribute)

    @property
    def value(self) -> Any:
        """The label value (None when missing). Handing it out marks the record modified."""
        return self.record.get(self.attribute)

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata object. Handing it out marks the record modified."""
        meta: dict[str, Any] = self.record[self.metadata_key]
        return meta

    @property
    def type(self) -> str | None:
        """The metadata ``type`` (e.g. ``groundtruth/object-detection``)."""
        value = self._m("type")
        return value if type(value) is str else None

    @property
    def job_name(self) -> str | None:
        """The metadata ``job-name``."""
        value = self._m("job-name")
        return value if type(value) is str else None

    @property
    def creation_date(self) -> str | None:
        """The metadata ``creation-date``."""
        value = self._m("creation-date")
        return value if type(value) is str else None

    @property
    def human_annotated(self) -> bool | None:
        """True for ``"yes"``, False for ``"no"`` (automated labeling), None when absent."""
        value = self._m("human-annotated")
        if value is None:
            return None
        if value == "yes":
            return True
        if value == "no":
            return False
        raise FieldError(
            f"{self.metadata_key}.human-annotated", f"expected 'yes' or 'no', got {value!r}"
        )

    @property
    def adjustment_status(self) -> str | None:
        """``"adjusted"`` / ``"unadjusted"`` for adjustment jobs, else None."""
        value = self._m("adjustment-status")
        return value if type(value) is str else None

    @property
    def is_adjustment(self) -> bool:
        """True when the label comes from an adjustment job (``adjustment-status`` present)."""
        return "adjustment-status" in self._meta

    @property
    def failure_reason(self) -> str | None:
        """``failure-reason`` of the metadata, if any."""
        value = self._m("failure-reason")
        return value if type(value) is str else None

    @property
    def failed(self) -> bool:
        """True for a failed object: metadata without a label value, or a ``failure-reason``."""
        return not _dcontains(self.record, self.attribute) or "failure-reason" in self._meta

    def _value(self) -> Any:
        return _dget(self.record, self.attribute)

    def confidences(self) -> tuple[float, ...]:
        """Every confidence of this label (per box, per class, per entity; empty if none)."""
        return ()

    def class_ids(self) -> tuple[int, ...]:
        """Class ids present in this label, in order of appearance (may repeat for boxes)."""
        return ()

    def class_names(self) -> frozenset[str]:
        """Names of the classes present in this label."""
        return frozenset()


class CustomLabel(Label):
    """``groundtruth/custom`` (and any unknown task type): the value is whatever the job wrote."""

    __slots__ = ()
    kind = "custom"


class ClassificationLabel(Label):
    """Single-label classification (image or text): an integer class id plus ``class-name``.

    Examples
    --------
    >>> from manifests.records import Record
    >>> rec = Record({"source": "ok", "tone": "1", "tone-metadata": {
    ...     "class-name": "positive", "type": "groundtruth/text-classification"}})
    >>> lab = rec.label("tone")
    >>> lab.label_id, lab.class_name, lab.confidence, lab.confidences()
    (1, 'positive', None, ())
    """

    __slots__ = ()
    kind = "classification"

    @property
    def label_id(self) -> int:
        """The class id (label values may be ints or digit strings)."""
        return as_int_id(self._value(), self.attribute)

    @property
    def class_name(self) -> str | None:
        """``class-name`` of the metadata."""
        value = self._m("class-name")
        if value is None or type(value) is str:
            return value
        raise FieldError(
            f"{self.metadata_key}.class-name", f"expected a string, got {_tname(value)}"
        )

    @property
    def confidence(self) -> float | None:
        """``confidence`` (optional: some real files lack it)."""
        return as_optional_number(self._m("confidence"), f"{self.metadata_key}.confidence")

    def confidences(self) -> tuple[float, ...]:
        conf = self.confidence
        return () if conf is None or not self.has_value else (conf,)

    def class_ids(self) -> tuple[int, ...]:
        return (self.label_id,) if self.has_value else ()

    def class_names(self) -> frozenset[str]:
        name = self.class_name
        return frozenset((name,)) if name is not None and self.has_value else frozenset()


class VerificationLabel(ClassificationLabel):
    """Label verification: a judgement class (``"0"``, ``"1"``) plus optional worker feedback."""

    __slots__ = ()
    kind = "verification"

    @property
    def worker_feedback(self) -> tuple[str, ...]:
        """The comments of ``worker-feedback``."""
        field = f"{self.metadata_key}.worker-feedback"
        items = self._m("worker-feedback")
        if items is None:
            return ()
        out = []
        for k, item in enumerate(expect_list(items, field)):
            comment = expect_dict(item, f"{field}[{k}]").get("comment")
            if type(comment) is not str:
                raise FieldError(f"{field}[{k}].comment", "expected a string")
            out.append(comment)
        return tuple(out)


class MultiLabel(Label):
    """Multi-label classification: a list of class ids, ``class-map`` and ``confidence-map``.

    Examples
    --------
    >>> from manifests.records import Record
    >>> rec = Record({"source-ref": "s3://b/c.jpg", "tags": [2, 0], "tags-metadata": {
    ...     "class-map": {"2": "bicycle", "0": "pedestrian"},
    ...     "confidence-map": {"2": 0.91, "0": 0.34},
    ...     "type": "groundtruth/image-classification-multilabel"}})
    >>> lab = rec.label("tags")
    >>> lab.label_ids, sorted(lab.class_names()), lab.confidence_map
    ((2, 0), ['bicycle', 'pedestrian'], {2: 0.91, 0: 0.34})
    """

    __slots__ = ()
    kind = "multilabel"

    @property
    def label_ids(self) -> tuple[int, ...]:
        """The selected class ids."""
        if not self.has_value:
            return ()
        values = expect_list(self._value(), self.attribute)
        return tuple(as_int_id(v, f"{self.attribute}[{k}]") for k, v in enumerate(values))

    @property
    def class_map(self) -> dict[int, str]:
        """``class-map`` as ``{id: name}``."""
        return parse_class_map(self._m("class-map"), f"{self.metadata_key}.class-map")

    @property
    def confidence_map(self) -> dict[int, float]:
        """``confidence-map`` as ``{id: confidence}``."""
        field = f"{self.metadata_key}.confidence-map"
        raw = self._m("confidence-map")
        if raw is None:
            return {}
        return {
            as_int_id(k, f"{field}.{k}"): as_number(v, f"{field}.{k}")
            for k, v in expect_dict(raw, field).items()
        }

    def confidences(self) -> tuple[float, ...]:
        return tuple(self.confidence_map.values())

    def class_ids(self) -> tuple[int, ...]:
        return self.label_ids

    def class_names(self) -> frozenset[str]:
        cmap = self.class_map
        return frozenset(cmap[i] for i in self.label_ids if i in cmap)


class BoxLabel(Label):
    """Object detection (bounding boxes), including adjustment jobs on top of it.

    Examples
    --------
    >>> from manifests.records import Record
    >>> rec = Record({"source-ref": "s3://b/i.jpg",
    ...   "pier": {"image_size": [{"width": 640, "height": 480, "depth": 3}],
    ...            "annotations": [{"class_id": 0, "left": 5, "top": 5,
    ...                             "width": 50, "height": 40}]},
    ...   "pier-metadata": {"objects": [{"confidence": 0.9}], "class-map": {"0": "heron"},
    ...                     "type": "groundtruth/object-detection"}})
    >>> lab = rec.label("pier")
    >>> lab.image_size
    ImageSize(width=640, height=480, depth=3)
    >>> lab.boxes
    (Box(class_id=0, left=5, top=5, width=50, height=40, confidence=0.9, class_name='heron'),)
    """

    __slots__ = ()
    kind = "object-detection"

    def _body(self) -> dict[str, Any]:
        return expect_dict(self._value(), self.attribute)

    def _annotations(self) -> list[Any]:
        if not self.has_value:
            return []
        return expect_list(self._body().get("annotations"), f"{self.attribute}.annotations")

    def _objects(self) -> list[Any]:
        raw = self._m("objects")
        if raw is None:
            return []
        return expect_list(raw, f"{self.metadata_key}.objects")

    @property
    def image_size(self) -> ImageSize | None:
        """``image_size[0]`` (None when absent)."""
        if not self.has_value:
            return None
        field = f"{self.attribute}.image_size"
        raw = self._body().get("image_size")
        if raw is None:
            return None
        sizes = expect_list(raw, field)
        if len(sizes) != 1:
            raise FieldError(field, f"expected a list of one object, got {len(sizes)} elements")
        size = expect_dict(sizes[0], f"{field}[0]")
        width = size.get("width")
        height = size.get("height")
        depth = size.get("depth")
        for key, dim in (("width", width), ("height", height)):
            if type(dim) is not int or dim <= 0:
                raise FieldError(f"{field}[0].{key}", f"expected a positive integer, got {dim!r}")
        if depth is not None and (type(depth) is not int or depth <= 0):
            raise FieldError(f"{field}[0].depth", f"expected a positive integer, got {depth!r}")
        return ImageSize(width, height, depth)  # type: ignore[arg-type]

    @property
    def class_map(self) -> dict[int, str]:
        """``class-map`` as ``{id: name}``."""
        return parse_class_map(self._m("class-map"), f"{self.metadata_key}.class-map")

    @property
    def n_boxes(self) -> int:
        """Number of boxes."""
        return len(self._annotations())

    @property
    def boxes(self) -> tuple[Box, ...]:
        """The boxes with their confidences (``objects[k]`` belongs to ``annotations[k]``)."""
        annotations = self._annotations()
        objects = self._objects()
        has_objects = self._meta.get("objects") is not None
        if has_objects and len(objects) != len(annotations):
            raise FieldError(
                f"{self.metadata_key}.objects",
                f"{quantity(len(objects), 'object')} for "
                f"{quantity(len(annotations), 'annotation')}",
            )
        cmap = self.class_map
        out = []
        for k, ann in enumerate(annotations):
            field = f"{self.attribute}.annotations[{k}]"
            ann = expect_dict(ann, field)
            cid = as_int_id(ann.get("class_id"), f"{field}.class_id")
            coords = [
                as_number(ann.get(c), f"{field}.{c}") for c in ("left", "top", "width", "height")
            ]
            conf = None
            if has_objects:
                obj = expect_dict(objects[k], f"{self.metadata_key}.objects[{k}]")
                conf = as_optional_number(
                    obj.get("confidence"), f"{self.metadata_key}.objects[{k}].confidence"
                )
            left, top, width, height = coords
            out.append(Box(cid, left, top, width, height, conf, cmap.get(cid)))
        return tuple(out)

    def confidences(self) -> tuple[float, ...]:
        record = self.record
        if not _dcontains(record, self.attribute):
            return ()
        objects = _dget(self._meta, "objects")
        if objects is None:
            return ()
        if type(objects) is not list:
            raise FieldError(
                f"{self.metadata_key}.objects", f"expected a list, got {_tname(objects)}"
            )
        out: list[float] = []
        for obj in objects:  # hot path of confidence filters: checks inlined
            if type(obj) is dict:
                conf: Any = obj.get("confidence")
                tc = type(conf)
                if (tc is float and conf - conf == 0.0) or tc is int:
                    out.append(conf)
                    continue
                if conf is None:
                    continue
            break
        else:
            return tuple(out)
        # slow path: name the offending field
        field = f"{self.metadata_key}.objects"
        for k, obj in enumerate(objects):
            if type(obj) is not dict:
                raise FieldError(f"{field}[{k}]", f"expected an object, got {_tname(obj)}")
            as_optional_number(obj.get("confidence"), f"{field}[{k}].confidence")
        raise AssertionError("unreachable")  # pragma: no cover

    def class_ids(self) -> tuple[int, ...]:
        out = []
        for k, ann in enumerate(self._annotations()):
            field = f"{self.attribute}.annotations[{k}]"
            out.append(as_int_id(expect_dict(ann, field).get("class_id"), f"{field}.class_id"))
        return tuple(out)

    def class_names(self) -> frozenset[str]:
        cmap = self.class_map
        return frozenset(cmap[i] for i in self.class_ids() if i in cmap)
