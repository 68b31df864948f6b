"""Checks of manifest lines per task type (reference sections 3.2-3.6 and 5.3).

:func:`validate_record` lists every problem of one record as :class:`Problem` (field, reason);
:func:`validate` is the streaming transform that passes valid records and rejects the others;
:func:`check_attribute_name` enforces the label attribute naming rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from manifests._values import as_number, expect_dict, expect_list, quantity
from manifests._views import META
from manifests.errors import FieldError, InvalidNameError
from manifests.io import Accounting
from manifests.records import (
    BoxLabel,
    ClassificationLabel,
    Label,
    MultiLabel,
    Record,
    SegmentationLabel,
    SpanLabel,
    VerificationLabel,
    VideoLabel,
)

__all__ = [
    "Problem",
    "attribute_name_problems",
    "check_attribute_name",
    "ref_rule",
    "validate",
    "validate_record",
]

_RESERVED = ("source", "source-ref")
# The name of a new job's label attribute (LabelAttributeName of the CreateLabelingJob API):
# 1 to 127 ASCII letters, digits and hyphens, starting and ending with a letter or digit. The
# reference (../shared/reference/groundtruth.md, section 3.2 "Label attribute name") lists only
# the rules checked for every name below (not ending in -metadata, source/source-ref reserved,
# no '$', the -ref suffix by task type) and section 3.1 only that attribute names must not start
# with '$'; this pattern is the AWS API's, which the reference does not quote. It is applied
# only to names this package creates (job_name=True), not to names found in existing manifests.
_JOB_ATTRIBUTE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}")
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_ADJUSTMENT = ("adjusted", "unadjusted")


class Problem(NamedTuple):
    """One problem of a record: the JSON path of the field and what is wrong."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def ref_rule(task_type: str | None) -> bool | None:
    """Whether a label attribute of this task type must end in ``-ref``.

    True for semantic segmentation, video frame and point-cloud segmentation/tracking tasks,
    False for the other built-in task types, None (no rule) for custom and unknown types.

    Examples
    --------
    >>> ref_rule("groundtruth/semantic-segmentation"), ref_rule("groundtruth/object-detection")
    (True, False)
    >>> print(ref_rule("groundtruth/custom"))
    None
    """
    if task_type is None:
        return None
    t = task_type.lower()
    if "semantic-segmentation" in t or t.startswith("groundtruth/video"):
        return True
    if ("point-cloud" in t or "point_cloud" in t or "pointcloud" in t) and (
        "segmentation" in t or "tracking" in t
    ):
        return True
    if t in (
        "groundtruth/image-classification",
        "groundtruth/text-classification",
        "groundtruth/image-classification-multilabel",
        "groundtruth/text-classification-multilabel",
        "groundtruth/object-detection",
        "groundtruth/text-span",
        "groundtruth/label-verification",
    ):
        return False
    return None


def attribute_name_problems(name: str, task_type: str | None = None) -> list[str]:
    """Reasons why ``name`` cannot be a label attribute name (empty list when it can).

    Examples
    --------
    >>> attribute_name_problems("birds-ref", "groundtruth/object-detection")
    ["must not end with '-ref' for a groundtruth/object-detection label"]
    >>> attribute_name_problems("road-mask-ref", "groundtruth/semantic-segmentation")
    []
    """
    problems = []
    if not name:
        problems.append("must not be empty")
    if name.endswith(META):
        problems.append("must not end with '-metadata'")
    if name in _RESERVED:
        problems.append("'source' and 'source-ref' are reserved")
    if "$" in name:
        problems.append("must not contain '$'")
    rule = ref_rule(task_type)
    if rule is True and not name.endswith("-ref"):
        problems.append(f"must end with '-ref' for a {task_type} label")
    elif rule is False and name.endswith("-ref"):
        problems.append(f"must not end with '-ref' for a {task_type} label")
    return problems


def check_attribute_name(
    name: str, task_type: str | None = None, *, job_name: bool = False
) -> None:
    """Raise :class:`~manifests.errors.InvalidNameError` if ``name`` breaks the naming rules.

    ``job_name=True`` also applies the ``LabelAttributeName`` pattern of the CreateLabelingJob
    API, ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$``: for a name that a new labelling job will use
    (a renamed attribute, the attribute of an adjustment or verification job).

    Examples
    --------
    >>> check_attribute_name("birds-adjusted", job_name=True)
    >>> check_attribute_name("source")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    manifests.errors.InvalidNameError: label attribute name 'source': 'source' and ... are reserved
    >>> check_attribute_name("bird boxes", job_name=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    manifests.errors.InvalidNameError: label attribute name 'bird boxes': a labelling job's ...
    """
    problems = attribute_name_problems(name, task_type)
    if job_name and name and _JOB_ATTRIBUTE.fullmatch(name) is None:
        problems.append(
            "a labelling job's label attribute name is 1 to 127 ASCII letters, digits and "
            "hyphens, starting and ending with a letter or digit (AWS LabelAttributeName "
            "pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$)"
        )
    if problems:
        raise InvalidNameError(name, "; ".join(problems))


# --------------------------------------------------------------------------------------------------


def _confidence(value: Any, field: str, out: list[Problem]) -> None:
    try:
        conf = as_number(value, field)
    except FieldError as exc:
        out.append(Problem(exc.field, exc.reason))
        return
    if not 0.0 <= conf <= 1.0:
        out.append(Problem(field, f"confidence {conf!r} is outside [0, 1]"))


def _common(lab: Label, out: list[Problem]) -> None:
    meta = lab._meta
    mk = lab.metadata_key
    for key in ("type", "job-name", "creation-date", "class-name", "failure-reason"):
        if key in meta and type(meta[key]) is not str:
            out.append(Problem(f"{mk}.{key}", f"expected a string, got {type(meta[key]).__name__}"))
    human = meta.get("human-annotated")
    if human is not None and human not in ("yes", "no"):
        out.append(Problem(f"{mk}.human-annotated", f"expected 'yes' or 'no', got {human!r}"))
    status = meta.get("adjustment-status")
    if status is not None and status not in _ADJUSTMENT:
        out.append(
            Problem(
                f"{mk}.adjustment-status", f"expected 'adjusted' or 'unadjusted', got {status!r}"
            )
        )
    if "confidence" in meta:
        _confidence(meta["confidence"], f"{mk}.confidence", out)
    for reason in attribute_name_problems(lab.attribute, lab.type):
        out.append(Problem(lab.attribute, f"label attribute name {reason}"))


def _check_classification(lab: ClassificationLabel, out: list[Problem]) -> None:
    lab.label_id  # noqa: B018 - raises FieldError when invalid
    if lab.class_name is None:
        out.append(Problem(f"{lab.metadata_key}.class-name", "missing"))
    if isinstance(lab, VerificationLabel):
        lab.worker_feedback  # noqa: B018


def _check_multilabel(lab: MultiLabel, out: list[Problem]) -> None:
    ids = lab.label_ids
    if len(set(ids)) != len(ids):
        out.append(Problem(lab.attribute, "duplicate class ids"))
    cmap = lab.class_map
    if set(cmap) != set(ids):
        out.append(
            Problem(
                f"{lab.metadata_key}.class-map",
                f"keys {sorted(cmap)} differ from the label ids {sorted(set(ids))}",
            )
        )
    if "confidence-map" in lab._meta:
        confs = lab.confidence_map
        if set(confs) != set(ids):
            out.append(
                Problem(
                    f"{lab.metadata_key}.confidence-map",
                    f"keys {sorted(confs)} differ from the label ids {sorted(set(ids))}",
                )
            )
        for cid, conf in confs.items():
            _confidence(conf, f"{lab.metadata_key}.confidence-map.{cid}", out)


def _check_boxes(lab: BoxLabel, out: list[Problem]) -> None:
    body = expect_dict(lab._value(), lab.attribute)
    if "image_size" not in body:
        out.append(Problem(f"{lab.attribute}.image_size", "missing"))
    else:
        lab.image_size  # noqa: B018
    annotations = expect_list(body.get("annotations"), f"{lab.attribute}.annotations")
    raw_objects = lab._meta.get("objects")
    objects = [] if raw_objects is None else expect_list(raw_objects, f"{lab.metadata_key}.objects")
    if len(objects) != len(annotations):
        out.append(
            Problem(
                f"{lab.metadata_key}.objects",
                f"{quantity(len(objects), 'object')} for "
                f"{quantity(len(annotations), 'annotation')}",
            )
        )
        return
    cmap = lab.class_map
    for k, box in enumerate(lab.boxes):
        field = f"{lab.attribute}.annotations[{k}]"
        if box.class_id not in cmap:
            out.append(
                Problem(f"{field}.class_id", f"class id {box.class_id} is not in the class-map")
            )
        if box.width < 0 or box.height < 0:
            out.append(Problem(field, "negative width or height"))
        if box.confidence is not None:
            _confidence(box.confidence, f"{lab.metadata_key}.objects[{k}].confidence", out)


def _check_segmentation(lab: SegmentationLabel, out: list[Problem]) -> None:
    if lab.mask_uri is None:  # pragma: no cover - failed labels are not checked
        out.append(Problem(lab.attribute, "missing mask URI"))
    if "internal-color-map" not in lab._meta:
        out.append(Problem(f"{lab.metadata_key}.internal-color-map", "missing"))
    for cid, entry in lab.color_map.items():
        field = f"{lab.metadata_key}.internal-color-map.{cid}"
        if entry.class_name is None:
            out.append(Problem(f"{field}.class-name", "missing"))
        if entry.hex_color is not None and not _HEX.fullmatch(entry.hex_color):
            out.append(
                Problem(f"{field}.hex-color", f"expected '#rrggbb', got {entry.hex_color!r}")
            )
        if entry.confidence is not None:
            _confidence(entry.confidence, f"{field}.confidence", out)


def _check_spans(lab: SpanLabel, out: list[Problem]) -> None:
    names = set(lab.label_names)
    ents = lab.entities
    raw = lab._meta.get("entities")
    if ents and raw is None:
        out.append(Problem(f"{lab.metadata_key}.entities", "missing (one confidence per entity)"))
    for k, ent in enumerate(ents):
        field = f"{lab.attribute}.annotations.entities[{k}]"
        if ent.start > ent.end:
            out.append(Problem(field, f"startOffset {ent.start} > endOffset {ent.end}"))
        if names and ent.label not in names:
            out.append(Problem(f"{field}.label", f"{ent.label!r} is not in annotations.labels"))
        if ent.confidence is not None:
            _confidence(ent.confidence, f"{lab.metadata_key}.entities[{k}].confidence", out)


def _check_video(lab: VideoLabel, out: list[Problem]) -> None:
    lab.seq_label_uri  # noqa: B018
    lab.class_map  # noqa: B018


_CHECKS: dict[type[Label], Callable[[Any, list[Problem]], None]] = {
    ClassificationLabel: _check_classification,
    VerificationLabel: _check_classification,
    MultiLabel: _check_multilabel,
    BoxLabel: _check_boxes,
    SegmentationLabel: _check_segmentation,
    SpanLabel: _check_spans,
    VideoLabel: _check_video,
}


def validate_label(lab: Label) -> list[Problem]:
    """Problems of one label view (common metadata checks plus the checks of its task type)."""
    out: list[Problem] = []
    try:
        _common(lab, out)
        check = _CHECKS.get(type(lab))
        if check is not None and lab.has_value:
            check(lab, out)
    except FieldError as exc:
        out.append(Problem(exc.field, exc.reason))
    return out


def validate_record(record: Record | dict[str, Any], attribute: str | None = None) -> list[Problem]:
    """Every problem of one manifest line (an empty list when the line is valid).

    Checks: exactly one data key (``source-ref`` xor ``source``, a string); for each label
    attribute (or only ``attribute``), the naming rules and the checks of its task type —
    object detection: ``objects`` aligned with ``annotations``, class ids in the class-map,
    ``image_size`` a list of one object with positive integer sizes, finite coordinates;
    classification and verification: an integer-like label and a ``class-name``; multi-label:
    label ids, class-map keys and confidence-map keys are the same set; semantic segmentation:
    color-map entries with a class name and ``#rrggbb`` colours; NER: offsets and one confidence
    per entity. Confidences must be finite numbers in [0, 1] everywhere.

    Examples
    --------
    >>> line = {"source-ref": "s3://b/1.jpg",
    ...   "pier": {"image_size": [{"width": 640, "height": 480, "depth": 3}],
    ...            "annotations": [{"class_id": 2, "left": 5, "top": 5,
    ...                             "width": 50, "height": 40}]},
    ...   "pier-metadata": {"objects": [], "class-map": {"0": "heron"},
    ...                     "type": "groundtruth/object-detection"}}
    >>> [str(p) for p in validate_record(line)]
    ['pier-metadata.objects: 0 objects for 1 annotation']
    """
    rec = record if isinstance(record, Record) else Record(record)
    out: list[Problem] = []
    has_ref = dict.__contains__(rec, "source-ref")
    has_src = dict.__contains__(rec, "source")
    if has_ref == has_src:
        out.append(
            Problem(
                "source-ref",
                "both 'source-ref' and 'source'" if has_ref else "no 'source-ref' or 'source'",
            )
        )
    else:
        key = "source-ref" if has_ref else "source"
        if type(dict.__getitem__(rec, key)) is not str:
            out.append(Problem(key, "expected a string"))
    if attribute is not None:
        lab = rec.label(attribute)
        if lab is None:
            out.append(
                Problem(attribute, "label attribute missing (no metadata with type or job-name)")
            )
            return out
        labels = [lab]
    else:
        labels = rec.labels()
    for lab in labels:
        out.extend(validate_label(lab))
    return out


def validate(
    records: Iterable[Record],
    *,
    attribute: str | None = None,
    accounting: Accounting | None = None,
) -> Iterator[Record]:
    """Pass valid records through; reject the others (first problem, and how many more).

    Parameters
    ----------
    records : iterable of Record
        Input records (from :func:`~manifests.io.read`).
    attribute : str, optional
        Check only this label attribute (and require it on every line).
    accounting : Accounting, optional
        Shared counters; invalid lines go through ``accounting.reject`` (which raises
        :class:`~manifests.errors.InvalidLineError` under the default policy).

    Examples
    --------
    >>> from manifests.io import Accounting, read
    >>> acc = Accounting(on_error="collect")
    >>> lines = ['{"source": "a"}', '{"source-ref": 3}']
    >>> len(list(validate(read(lines, accounting=acc), accounting=acc)))
    1
    >>> print(acc.rejections[0])
    <lines>:2: source-ref: expected a string
    """
    acc = accounting if accounting is not None else Accounting()
    for rec in records:
        problems = validate_record(rec, attribute)
        if problems:
            first = problems[0]
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            acc.reject_record(rec, first.field, first.reason + more)
            continue
        yield rec
