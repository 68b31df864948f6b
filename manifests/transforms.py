"""Streaming transforms over manifest records (reference section 5.3).

Every transform is a function ``f(records, ..., accounting=None) -> Iterator[Record]`` that
checks its arguments when called (a bad one raises at once, before any line is read) and
returns a generator: it reads records lazily, yields the ones it keeps (modified in place when
it changes them), and
counts every other line in the shared :class:`~manifests.io.Accounting` as ``filtered`` (removed
by the user's rule) or ``rejected`` (invalid for this transform, with file, line and field).
Compose them freely::

    acc = Accounting(on_error="collect")
    recs = read("output.manifest", accounting=acc)
    recs = filter_records(recs, attribute="birds", min_confidence=0.5, accounting=acc)
    recs = drop_classes(recs, ["duck"], attribute="birds", accounting=acc)
    write(recs, "clean.manifest", accounting=acc)
    assert acc.balanced

The class-editing transforms (drop, rename, merge, remap ids) are in :mod:`manifests._classes`
and re-exported here.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from manifests._catalog import (
    ClassCatalog,
    compact_id_map,
    remap_labels,
    renamed_labels,
    scan_classes,
    select_label,
)
from manifests._classes import drop_classes, remap_ids, rename_classes
from manifests._values import collection_of
from manifests._views import META, Label
from manifests.errors import FieldError
from manifests.io import Accounting, dumps
from manifests.records import Record, SegmentationLabel, label_view
from manifests.validation import attribute_name_problems, check_attribute_name, validate

__all__ = [
    "ClassCatalog",
    "compact_id_map",
    "drop_classes",
    "filter_records",
    "remap_ids",
    "remap_labels",
    "rename_attribute",
    "rename_classes",
    "renamed_labels",
    "scan_classes",
    "select_label",
    "split",
    "split_fraction",
    "to_adjustment",
    "to_verification",
    "validate",
]

Status = Literal["labelled", "failed", "unlabelled"]
_STATUSES = ("labelled", "failed", "unlabelled")
_BOX_TYPE = "groundtruth/object-detection"
_AGGREGATES: dict[str, Callable[[Sequence[float]], float]] = {
    "min": min,
    "max": max,
    "mean": lambda xs: math.fsum(xs) / len(xs),
}


def line_status(label: Label | None) -> Status:
    """``"unlabelled"`` (no such label), ``"failed"`` (metadata only) or ``"labelled"``.

    A failed object has label metadata but no label value, or a ``failure-reason`` (reference
    3.2); these are the states :func:`filter_records` selects with ``status``.

    Examples
    --------
    >>> meta = {"type": "groundtruth/text-classification", "job-name": "labeling-job/tone"}
    >>> done = Record({"source": "a", "tone": 1, "tone-metadata": dict(meta, confidence=0.67)})
    >>> expired = Record({"source": "b", "tone-metadata": meta})
    >>> [line_status(r.label("tone")) for r in (done, expired, Record({"source": "c"}))]
    ['labelled', 'failed', 'unlabelled']
    """
    if label is None:
        return "unlabelled"
    return "failed" if label.failed else "labelled"


def filter_records(
    records: Iterable[Record],
    *,
    attribute: str | None = None,
    min_confidence: float | None = None,
    max_confidence: float | None = None,
    confidence_of: Literal["min", "mean", "max"] = "min",
    human_annotated: bool | None = None,
    has_classes: Collection[str] = (),
    without_classes: Collection[str] = (),
    status: Collection[Status] = (),
    adjustment_status: Collection[str] = (),
    predicate: Callable[[Record], bool] | None = None,
    accounting: Accounting | None = None,
) -> Iterator[Record]:
    """Keep the lines whose label matches every given rule; count the others as filtered.

    Parameters
    ----------
    records : iterable of Record
        Input records.
    attribute : str, optional
        Label attribute the rules apply to. Default: the line's only label attribute (a line
        with several raises :class:`~manifests.errors.AmbiguousLabelError`).
    min_confidence, max_confidence : float, optional
        Keep lines whose confidence (aggregated over the label's confidences with
        ``confidence_of``: every box, every selected class, every entity) lies in
        ``[min_confidence, max_confidence]``. A label without any confidence (no boxes, no
        ``confidence`` key, a failed object) does not match.
    confidence_of : {"min", "mean", "max"}
        How several confidences make one; ``"min"`` (default) means every box must pass.
    human_annotated : bool, optional
        Keep human-labelled (True) or auto-labelled (False) lines.
    has_classes : collection of str
        Keep lines whose label contains at least one of these class names.
    without_classes : collection of str
        Keep lines whose label contains none of these class names.
    status : collection of {"labelled", "failed", "unlabelled"}
        Keep lines whose label has one of these states (failed = metadata without a value;
        unlabelled = no such label attribute at all).
    adjustment_status : collection of {"adjusted", "unadjusted", "none"}
        Keep lines whose ``adjustment-status`` is one of these (``"none"``: no such key).
    predicate : callable, optional
        Extra rule ``predicate(record) -> bool``.
    accounting : Accounting, optional
        Shared counters.

    Examples
    --------
    >>> from manifests.io import read
    >>> lines = [
    ...   '{"source": "a", "t": 0, "t-metadata": {"class-name": "no", "confidence": 0.4, '
    ...   '"type": "groundtruth/text-classification"}}',
    ...   '{"source": "b", "t": 1, "t-metadata": {"class-name": "yes", "confidence": 0.9, '
    ...   '"type": "groundtruth/text-classification"}}',
    ...   '{"source": "c", "t-metadata": {"type": "groundtruth/text-classification"}}']
    >>> acc = Accounting()
    >>> kept = filter_records(read(lines, accounting=acc), min_confidence=0.5, accounting=acc)
    >>> [r["source"] for r in kept]
    ['b']
    >>> [r["source"] for r in filter_records(read(lines), status=["failed"])]
    ['c']
    >>> acc.filtered
    2
    """
    acc = accounting if accounting is not None else Accounting()
    if human_annotated is not None and not isinstance(human_annotated, bool):
        raise ValueError(f"human_annotated must be True, False or None, got {human_annotated!r}")
    statuses = frozenset(collection_of("status", status))
    for state in statuses:
        if state not in _STATUSES:
            raise ValueError(f"status must be among {_STATUSES}, got {state!r}")
    adjustments = frozenset(collection_of("adjustment_status", adjustment_status))
    for value in adjustments:
        if value not in ("adjusted", "unadjusted", "none"):
            raise ValueError(
                f"adjustment_status must be adjusted, unadjusted or none, got {value!r}"
            )
    if confidence_of not in _AGGREGATES:
        raise ValueError(f"confidence_of must be min, mean or max, got {confidence_of!r}")
    aggregate = _AGGREGATES[confidence_of]
    lo = -math.inf if min_confidence is None else float(min_confidence)
    hi = math.inf if max_confidence is None else float(max_confidence)
    check_conf = min_confidence is not None or max_confidence is not None
    wanted = frozenset(collection_of("has_classes", has_classes))
    unwanted = frozenset(collection_of("without_classes", without_classes))

    meta_key = None if attribute is None else attribute + META
    check_classes = bool(wanted or unwanted)
    # Only confidence rules on a named attribute: object-detection lines can be judged straight
    # from their metadata (the hot path of `filter --min-confidence`; 2x cheaper than the view).
    only_confidence = (
        check_conf
        and meta_key is not None
        and not (statuses or adjustments or check_classes or human_annotated is not None)
    )

    box_attribute, box_meta_key = attribute or "", meta_key or ""

    def box_confidences(rec: Record) -> list[Any] | None:
        """Return what BoxLabel.confidences() would give, or None to ask the view.

        None for anything but a clean object-detection label (not failed, a list of objects
        with finite numeric confidences); the view then decides, and explains errors.
        """
        meta = dict.get(rec, box_meta_key)
        if (
            type(meta) is not dict
            or meta.get("type") != _BOX_TYPE
            or not dict.__contains__(rec, box_attribute)
            or "failure-reason" in meta
        ):
            return None
        objects = meta.get("objects")
        if type(objects) is not list:
            return None
        out = []
        for obj in objects:
            if type(obj) is not dict:
                return None
            conf: Any = obj.get("confidence")
            kind = type(conf)
            if not ((kind is float and conf - conf == 0.0) or kind is int):
                return None
            out.append(conf)
        return out

    def matches(rec: Record) -> bool:
        if meta_key is not None:  # fast path: Record.label without the method calls
            meta = dict.get(rec, meta_key)
            if type(meta) is dict and ("type" in meta or "job-name" in meta):
                lab: Label | None = label_view(rec, attribute, meta)  # type: ignore[arg-type]
            else:
                lab = None
        else:
            lab = select_label(rec, None)
        labelled = lab is not None and not lab.failed
        if (
            statuses
            and (("labelled" if labelled else "failed") if lab is not None else "unlabelled")
            not in statuses
        ):
            return False
        if adjustments:
            value = lab.adjustment_status if lab is not None else None
            if (value or "none") not in adjustments:
                return False
        if human_annotated is not None and (
            lab is None or lab.human_annotated is not human_annotated
        ):
            return False
        if check_conf:
            if not labelled:
                return False
            confs = lab.confidences()  # type: ignore[union-attr]
            if not confs or not lo <= aggregate(confs) <= hi:
                return False
        if check_classes:
            names = lab.class_names() if labelled else frozenset()  # type: ignore[union-attr]
            if wanted and names.isdisjoint(wanted):
                return False
            if unwanted and not names.isdisjoint(unwanted):
                return False
        return predicate is None or bool(predicate(rec))

    # Checked above, at call time; the loop gets its values as arguments (fast locals).
    return _filtered(
        records, acc, box_confidences if only_confidence else None, matches, lo, hi, aggregate,
        predicate,
    )  # fmt: skip


def _filtered(
    records: Iterable[Record],
    acc: Accounting,
    box_confidences: Callable[[Record], list[Any] | None] | None,
    matches: Callable[[Record], bool],
    lo: float,
    hi: float,
    aggregate: Callable[[list[Any]], float],
    predicate: Callable[[Record], Any] | None,
) -> Iterator[Record]:
    """Run the loop of :func:`filter_records` (its arguments checked there, at call time)."""
    for rec in records:
        box_confs = box_confidences(rec) if box_confidences is not None else None
        try:
            if box_confs is None:
                keep = matches(rec)
            else:  # the hot path: a clean box label, judged from its metadata alone
                keep = (
                    bool(box_confs)
                    and lo <= aggregate(box_confs) <= hi
                    and (predicate is None or bool(predicate(rec)))
                )
        except FieldError as exc:
            acc.reject_record(rec, exc.field, exc.reason, exc)
            continue
        if keep:
            yield rec
        else:
            acc.filtered += 1


def _rename_keys(rec: Record, renames: Mapping[str, str]) -> None:
    items = [(renames.get(k, k), v) for k, v in dict.items(rec)]
    dict.clear(rec)
    dict.update(rec, items)
    rec.mark_modified()


def rename_attribute(
    records: Iterable[Record],
    old: str,
    new: str,
    *,
    accounting: Accounting | None = None,
) -> Iterator[Record]:
    """Rename the label attribute ``old`` (and ``old-metadata``) to ``new``, keeping key order.

    ``new`` must follow the naming rules of a job's label attribute
    (:func:`~manifests.validation.check_attribute_name` with ``job_name=True``, raising
    :class:`~manifests.errors.InvalidNameError` at once); a line whose task type needs
    the other ``-ref`` form, or that already has ``new``, is rejected. Lines without the label
    pass unchanged (counted as ``without attribute``).

    Examples
    --------
    >>> from manifests.io import read
    >>> line = ('{"source": "x", "a": 1, "a-metadata": {"class-name": "y", '
    ...         '"type": "groundtruth/text-classification"}, "z": 0}')
    >>> [list(r) for r in rename_attribute(read([line]), "a", "b")]
    [['source', 'b', 'b-metadata', 'z']]
    """
    acc = accounting if accounting is not None else Accounting()
    check_attribute_name(new, job_name=True)
    if new == old:
        raise ValueError("the new attribute name equals the old one")
    renames = {old: new, old + META: new + META}

    def run() -> Iterator[Record]:  # checked above, at call time
        for rec in records:
            lab = rec.label(old)
            if lab is None:
                acc.count("without attribute")
                yield rec
                continue
            problems = attribute_name_problems(new, lab.type)
            if problems:
                acc.reject_record(rec, old, f"cannot rename to {new!r}: " + "; ".join(problems))
                continue
            if dict.__contains__(rec, new) or dict.__contains__(rec, new + META):
                acc.reject_record(rec, new, "the line already has this attribute")
                continue
            _rename_keys(rec, renames)
            acc.count("renamed")
            yield rec

    return run()


def audit_attribute_name(attribute: str, kind: Literal["adjustment", "verification"]) -> str:
    """Default label attribute name of an audit job: ``<a>-adjusted`` / ``<a>-verified``.

    For ``-ref`` attributes the suffix goes before ``-ref`` (``mask-adjusted-ref``); a
    verification label is never a ``-ref`` attribute (its value is a judgement class).

    Examples
    --------
    >>> audit_attribute_name("birds", "adjustment"), audit_attribute_name("mask-ref", "adjustment")
    ('birds-adjusted', 'mask-adjusted-ref')
    >>> audit_attribute_name("mask-ref", "verification")
    'mask-verified'
    """
    suffix = "-adjusted" if kind == "adjustment" else "-verified"
    if attribute.endswith("-ref"):
        base = attribute[:-4]
        return base + suffix + ("-ref" if kind == "adjustment" else "")
    return attribute + suffix


def _to_audit(
    records: Iterable[Record],
    attribute: str,
    kind: Literal["adjustment", "verification"],
    new_attribute: str | None,
    drop_other_labels: bool,
    catalog: ClassCatalog | None,
    accounting: Accounting | None,
) -> Iterator[Record]:
    acc = accounting if accounting is not None else Accounting()
    new = new_attribute or audit_attribute_name(attribute, kind)
    check_attribute_name(new, job_name=True)
    if new == attribute:
        raise ValueError(
            "an audit job needs a label attribute name different from the one it reviews"
        )

    def run() -> Iterator[Record]:  # checked above, at call time
        for rec in records:
            lab = rec.label(attribute)
            if lab is None:
                acc.reject_record(rec, attribute, "missing: the line has no label to review")
                continue
            if lab.failed:
                acc.reject_record(rec, attribute, "failed object: no label value to review")
                continue
            new_type = "groundtruth/label-verification" if kind == "verification" else lab.type
            problems = attribute_name_problems(new, new_type)
            if problems:
                acc.reject_record(rec, attribute, f"new attribute {new!r}: " + "; ".join(problems))
                continue
            if dict.__contains__(rec, new) or dict.__contains__(rec, new + META):
                acc.reject_record(rec, new, "the line already has the new label attribute")
                continue
            try:
                if isinstance(lab, SegmentationLabel):
                    for cid, entry in lab.color_map.items():
                        if entry.hex_color is None:
                            raise FieldError(
                                f"{lab.metadata_key}.internal-color-map.{cid}.hex-color",
                                "missing: masks without colours cannot be audited",
                            )
                if catalog is not None:
                    catalog.add_label(lab)
            except FieldError as exc:
                acc.reject_record(rec, exc.field, exc.reason, exc)
                continue
            if drop_other_labels:
                others = [a for a in rec.label_attributes() if a != attribute]
                if others:
                    for other in others:
                        dict.pop(rec, other, None)
                        dict.pop(rec, other + META, None)
                    rec.mark_modified()
            yield rec

    return run()


def to_adjustment(
    records: Iterable[Record],
    attribute: str,
    *,
    new_attribute: str | None = None,
    drop_other_labels: bool = False,
    catalog: ClassCatalog | None = None,
    accounting: Accounting | None = None,
) -> Iterator[Record]:
    """Prepare an output manifest as the input of an adjustment job reviewing ``attribute``.

    Every line must carry the label under review (lines without it, or with a failed object, are
    rejected and reported); semantic-segmentation colour maps must have ``hex-color``; the new
    label attribute name (default :func:`audit_attribute_name`) must follow the naming rules
    and not exist yet. ``drop_other_labels`` removes the other label attributes of the line.
    Pass a :class:`ClassCatalog` to collect the classes seen, from which the job's label-category
    file can be written (:meth:`ClassCatalog.document`).

    Examples
    --------
    >>> from manifests.io import read
    >>> lines = ['{"source": "a", "t": 0, "t-metadata": {"class-name": "no", '
    ...          '"type": "groundtruth/text-classification"},'
    ...          ' "u": 1, "u-metadata": {"class-name": "x", "job-name": "j"}}']
    >>> cat = ClassCatalog()
    >>> [list(r) for r in to_adjustment(read(lines), "t", drop_other_labels=True, catalog=cat)]
    [['source', 't', 't-metadata']]
    >>> cat.labels()
    ['no']
    """
    return _to_audit(
        records, attribute, "adjustment", new_attribute, drop_other_labels, catalog, accounting
    )


def to_verification(
    records: Iterable[Record],
    attribute: str,
    *,
    new_attribute: str | None = None,
    drop_other_labels: bool = False,
    catalog: ClassCatalog | None = None,
    accounting: Accounting | None = None,
) -> Iterator[Record]:
    """Like :func:`to_adjustment`, for a verification job (default name ``<a>-verified``).

    Examples
    --------
    >>> from manifests.io import read
    >>> acc = Accounting(on_error="collect")
    >>> out = list(to_verification(read(['{"source": "a"}'], accounting=acc), "t", accounting=acc))
    >>> print(acc.rejections[0])
    <lines>:1: t: missing: the line has no label to review
    """
    return _to_audit(
        records, attribute, "verification", new_attribute, drop_other_labels, catalog, accounting
    )


def split_fraction(value: str, seed: int | str = 0) -> float:
    """Deterministic pseudo-random number in [0, 1) for a key and a seed (BLAKE2b).

    Examples
    --------
    >>> split_fraction("s3://b/1.jpg", seed=0) == split_fraction("s3://b/1.jpg", seed=0)
    True
    >>> 0 <= split_fraction("s3://b/1.jpg", seed=1) < 1
    True
    """
    data = f"{seed}\x00{value}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") / 2.0**64


def split(
    records: Iterable[Record],
    fractions: Mapping[str, float] | Sequence[tuple[str, float]],
    *,
    seed: int | str = 0,
    key: str | None = None,
    accounting: Accounting | None = None,
) -> Iterator[tuple[str, Record]]:
    """Assign every record to a named part, deterministically from its key and the seed.

    The key (default: the data object, ``source-ref`` or ``source``; the whole line when it has
    neither) is hashed with the seed to a number in [0, 1), which falls into one part by the
    cumulative fractions. The same object always lands in the same part, whatever the order or
    the rest of the file, and duplicates of an object never straddle two parts; part sizes are
    therefore close to, not exactly, the fractions. When the fractions add up to less than 1,
    the remaining lines are counted as filtered (a sample).

    Yields
    ------
    (part name, record)

    Examples
    --------
    >>> from manifests.io import read
    >>> lines = [f'{{"source-ref": "s3://b/{i}.jpg"}}' for i in range(1000)]
    >>> parts = [name for name, _ in split(read(lines), {"train": 0.8, "test": 0.2}, seed=7)]
    >>> sorted(set(parts)), 700 < parts.count("train") < 900
    (['test', 'train'], True)
    """
    acc = accounting if accounting is not None else Accounting()
    items = list(fractions.items()) if isinstance(fractions, Mapping) else list(fractions)
    if not items:
        raise ValueError("give at least one part")
    bounds: list[tuple[float, str]] = []
    total = 0.0
    for name, frac in items:
        if not 0.0 <= frac <= 1.0 or math.isnan(frac):
            raise ValueError(f"fraction of {name!r} must be in [0, 1], got {frac!r}")
        total += frac
        bounds.append((total, name))
    if total > 1.0 + 1e-9:
        raise ValueError(f"fractions add up to {total:g} > 1")
    if total >= 1.0 - 1e-9:
        bounds[-1] = (math.inf, bounds[-1][1])
    if len({name for _, name in bounds}) != len(bounds):
        raise ValueError("part names must be distinct")

    def run() -> Iterator[tuple[str, Record]]:  # checked above, at call time
        for rec in records:
            if key is not None:
                value: Any = dict.get(rec, key)
                if value is None:
                    acc.reject_record(rec, key, "missing split key")
                    continue
                text = value if type(value) is str else dumps(value, strict=False)
            else:
                data_key = rec.data_key
                value = dict.get(rec, data_key) if data_key else None
                text = value if type(value) is str else (rec.raw or dumps(rec, strict=False))
            u = split_fraction(text, seed)
            for bound, name in bounds:
                if u < bound:
                    yield name, rec
                    break
            else:
                acc.filtered += 1

    return run()
