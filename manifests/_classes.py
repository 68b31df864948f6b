"""Class-editing transforms: drop classes, rename / merge classes, remap class ids.

Re-exported by :mod:`manifests.transforms` and :mod:`manifests`; see their documentation.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from manifests._catalog import renamed_labels, select_label
from manifests._values import as_int_id, collection_of, expect_dict, expect_list, quantity
from manifests._views import META
from manifests.errors import FieldError
from manifests.io import Accounting
from manifests.records import (
    BoxLabel,
    ClassificationLabel,
    CustomLabel,
    Label,
    MultiLabel,
    Record,
    SegmentationLabel,
    SpanLabel,
    VideoLabel,
)

__all__ = ["drop_classes", "remap_ids", "rename_classes"]
_dget = dict.get


# -------------------------------------------------------------------------------------------------
# helpers on raw label dicts
# -------------------------------------------------------------------------------------------------


def _same_type(template: Any, value: int) -> int | str:
    """Write an id back with the type it was read with (int or digit string)."""
    return str(value) if type(template) is str else value


def _body(rec: Record, attr: str) -> dict[str, Any]:
    return expect_dict(_dget(rec, attr), attr)


def _meta(rec: Record, attr: str) -> dict[str, Any]:
    return expect_dict(_dget(rec, attr + META), attr + META)


def _class_map(meta: dict[str, Any], field: str) -> dict[str, Any]:
    raw = meta.get("class-map")
    if raw is None:
        return {}
    cmap = expect_dict(raw, field)
    for key, name in cmap.items():
        as_int_id(key, f"{field}.{key}")
        if type(name) is not str:
            raise FieldError(f"{field}.{key}", "expected a class name string")
    return cmap


def _aligned_boxes(
    rec: Record, attr: str
) -> tuple[dict[str, Any], dict[str, Any], list[Any], list[Any]]:
    body = _body(rec, attr)
    meta = _meta(rec, attr)
    anns = expect_list(body.get("annotations"), f"{attr}.annotations")
    raw_objs = meta.get("objects")
    objs = [] if raw_objs is None else expect_list(raw_objs, f"{attr}{META}.objects")
    if len(objs) != len(anns):
        raise FieldError(
            f"{attr}{META}.objects",
            f"{quantity(len(objs), 'object')} for {quantity(len(anns), 'annotation')}: "
            "cannot keep them aligned",
        )
    for k, ann in enumerate(anns):
        if type(ann) is not dict:
            raise FieldError(f"{attr}.annotations[{k}]", "expected an object")
    return body, meta, anns, objs


def _unsupported(label: Label, what: str) -> FieldError:
    return FieldError(label.attribute, f"{what} does not apply to {label.kind} labels")


# -------------------------------------------------------------------------------------------------
# drop classes
# -------------------------------------------------------------------------------------------------


def _drop_boxes(rec: Record, attr: str, names: frozenset[str], acc: Accounting) -> bool:
    # Hot path of drop-classes on object detection: checks inlined, nothing is changed before
    # the whole line has been checked.
    mk = attr + META
    body = _dget(rec, attr)
    meta = _dget(rec, mk)
    if type(body) is not dict:
        raise FieldError(attr, "expected an object")
    if type(meta) is not dict:  # pragma: no cover - a label always has its metadata
        raise FieldError(mk, "expected an object")
    anns = body.get("annotations")
    if type(anns) is not list:
        raise FieldError(f"{attr}.annotations", "expected a list")
    objs = meta.get("objects")
    if objs is not None and type(objs) is not list:
        raise FieldError(f"{mk}.objects", "expected a list")
    if len(objs or ()) != len(anns):
        raise FieldError(
            f"{mk}.objects",
            f"{quantity(len(objs or ()), 'object')} for {quantity(len(anns), 'annotation')}: "
            "cannot keep them aligned",
        )
    cmap = meta.get("class-map")
    if cmap is None:
        return False
    if type(cmap) is not dict:
        raise FieldError(f"{mk}.class-map", "expected an object")
    drop_keys = [key for key, name in cmap.items() if type(name) is str and name in names]
    if not drop_keys:
        return False
    drop_ids = {as_int_id(key, f"{mk}.class-map.{key}") for key in drop_keys}
    keep = []
    for k, ann in enumerate(anns):
        cid = ann.get("class_id") if type(ann) is dict else None
        if type(cid) is not int:
            if type(ann) is not dict:
                raise FieldError(f"{attr}.annotations[{k}]", "expected an object")
            cid = as_int_id(cid, f"{attr}.annotations[{k}].class_id")
        if cid not in drop_ids:
            keep.append(k)
    removed = len(anns) - len(keep)
    if removed:
        body["annotations"] = [anns[k] for k in keep]
        if objs is not None:
            meta["objects"] = [objs[k] for k in keep]
    for key in drop_keys:
        del cmap[key]
    acc.count("boxes removed", removed)
    return True


def _drop_multilabel(rec: Record, attr: str, names: frozenset[str], acc: Accounting) -> bool:
    meta = _meta(rec, attr)
    cmap = _class_map(meta, f"{attr}{META}.class-map")
    ids = expect_list(_dget(rec, attr), attr)
    drop_ids = {int(key) for key, name in cmap.items() if name in names}
    if not drop_ids:
        return False
    kept = [v for k, v in enumerate(ids) if as_int_id(v, f"{attr}[{k}]") not in drop_ids]
    dict.__setitem__(rec, attr, kept)
    for key in [key for key in cmap if int(key) in drop_ids]:
        del cmap[key]
    confs = meta.get("confidence-map")
    if confs is not None:
        confs = expect_dict(confs, f"{attr}{META}.confidence-map")
        for key in [
            key for key in confs if as_int_id(key, f"{attr}{META}.confidence-map.{key}") in drop_ids
        ]:
            del confs[key]
    acc.count("ids removed", len(ids) - len(kept))
    return True


def _drop_spans(rec: Record, label: SpanLabel, names: frozenset[str], acc: Accounting) -> bool:
    ents = label.entities  # validates shapes and alignment
    labels = label.label_names
    if not any(e.label in names for e in ents) and not any(n in names for n in labels):
        return False
    attr = label.attribute
    ann = _body(rec, attr)["annotations"]
    keep = [k for k, e in enumerate(ents) if e.label not in names]
    raw_ents = ann["entities"]
    ann["entities"] = [raw_ents[k] for k in keep]
    if "labels" in ann:
        ann["labels"] = [item for item in ann["labels"] if item.get("label") not in names]
    meta = _meta(rec, attr)
    if meta.get("entities") is not None:
        meta["entities"] = [meta["entities"][k] for k in keep]
    acc.count("entities removed", len(ents) - len(keep))
    return True


def drop_classes(
    records: Iterable[Record],
    classes: Collection[str],
    *,
    attribute: str | None = None,
    mark_adjusted: bool = False,
    drop_lines: bool = True,
    accounting: Accounting | None = None,
) -> Iterator[Record]:
    """Remove classes (by name) from one label attribute, keeping everything else as it was.

    * Object detection: boxes of those classes are removed from ``annotations`` together with
      their ``objects`` entries (which stay aligned), and their ids from ``class-map``; the
      number of boxes removed is counted as ``boxes removed``. Ids are not renumbered (use
      :func:`remap_ids` for that). Lines whose ``objects`` and ``annotations`` differ in length
      are rejected.
    * Single-label classification / verification: lines labelled with such a class are filtered
      out (``drop_lines=True``, the default) or lose the label attribute (``drop_lines=False``).
    * Multi-label: the ids leave the label list, ``class-map`` and ``confidence-map``.
    * NER: the entities leave the label (and ``annotations.labels``), with their confidences.
    * Semantic segmentation, video, custom: rejected (the mask or sequence file would change).

    Other label attributes, lines without the label and failed objects are not touched.
    ``mark_adjusted=True`` sets ``adjustment-status: "adjusted"`` on every labelled line, like
    the AWS "Labeling Adjustment Job Adaptation" notebook (reference section 5.1).

    Examples
    --------
    >>> import io
    >>> import json
    >>> from manifests.io import read, write
    >>> line = ('{"source-ref": "s3://b/i1.jpg", '
    ...   '"pier": {"image_size": [{"width": 640, "height": 480, "depth": 3}], '
    ...   '"annotations": [{"class_id": 0, "left": 5, "top": 5, "width": 50, "height": 40}, '
    ...   '{"class_id": 2, "left": 300, "top": 90, "width": 30, "height": 30}]}, '
    ...   '"pier-metadata": {"objects": [{"confidence": 0.9}, {"confidence": 0.4}], '
    ...   '"class-map": {"0": "heron", "2": "duck"}, "type": "groundtruth/object-detection"}}')
    >>> acc = Accounting()
    >>> out = io.StringIO()
    >>> recs = drop_classes(read([line], accounting=acc), ["duck"], accounting=acc)
    >>> write(recs, out, accounting=acc)
    1
    >>> rec = json.loads(out.getvalue())
    >>> [box["class_id"] for box in rec["pier"]["annotations"]]
    [0]
    >>> rec["pier-metadata"]["objects"], rec["pier-metadata"]["class-map"]
    ([{'confidence': 0.9}], {'0': 'heron'})
    >>> acc.counters
    {'boxes removed': 1, 'lines changed': 1}
    """
    acc = accounting if accounting is not None else Accounting()
    names = frozenset(collection_of("classes", classes))
    if not names:
        raise ValueError("give at least one class name to drop")

    return _dropped(records, names, attribute, drop_lines, mark_adjusted, acc)  # checked above


def _dropped(
    records: Iterable[Record],
    names: frozenset[str],
    attribute: str | None,
    drop_lines: bool,
    mark_adjusted: bool,
    acc: Accounting,
) -> Iterator[Record]:
    """Run the loop of :func:`drop_classes` (its arguments checked there, at call time)."""
    for rec in records:
        try:
            label = select_label(rec, attribute)
            if label is None or label.failed:
                yield rec
                continue
            attr = label.attribute
            changed = False
            if isinstance(label, BoxLabel):
                changed = _drop_boxes(rec, attr, names, acc)
            elif isinstance(label, ClassificationLabel):
                label.label_id  # noqa: B018 - validates the value
                if label.class_name in names:
                    if drop_lines:
                        acc.filtered += 1
                        continue
                    dict.pop(rec, attr)
                    dict.pop(rec, attr + META)
                    rec.mark_modified()
                    acc.count("labels removed")
                    yield rec
                    continue
            elif isinstance(label, MultiLabel):
                changed = _drop_multilabel(rec, attr, names, acc)
            elif isinstance(label, SpanLabel):
                changed = _drop_spans(rec, label, names, acc)
            else:
                raise _unsupported(label, "drop-classes")
        except FieldError as exc:
            acc.reject_record(rec, exc.field, exc.reason, exc)
            continue
        if mark_adjusted:
            _meta(rec, attr)["adjustment-status"] = "adjusted"
            changed = True
        if changed:
            rec.mark_modified()
            acc.count("lines changed")
        yield rec


# -------------------------------------------------------------------------------------------------
# rename / merge classes and remap ids
# -------------------------------------------------------------------------------------------------


class _IdRule:
    """How ids and names change: ``new_id(old)`` and ``new_name(name)``."""

    def __init__(
        self,
        names: Mapping[str, str],
        id_map: Mapping[int, int] | None,
        labels: Sequence[str] | None,
        ids_strict: bool,
    ) -> None:
        self.names = names
        self.id_map = id_map
        self.labels = labels
        self.ids_strict = ids_strict
        self.targets = frozenset(id_map.values()) if id_map else frozenset()

    def new_id(self, old: int, field: str) -> int:
        id_map = self.id_map
        if not id_map:
            return old
        new = id_map.get(old)
        if new is not None:
            return new
        if self.ids_strict:
            raise FieldError(field, f"class id {old} is not in the label list")
        if old in self.targets:
            raise FieldError(
                field, f"class id {old} is not remapped but another id is mapped to {old}"
            )
        return old

    def new_name(self, old_id: int, name: str, field: str) -> str:
        labels = self.labels
        if labels is not None and old_id < len(labels) and labels[old_id] != name:
            raise FieldError(
                field,
                f"class id {old_id} is {name!r} here but {labels[old_id]!r} in the label list",
            )
        return self.names.get(name, name)


def _remap_class_map(
    cmap: dict[str, Any], rule: _IdRule, field: str, merge_ok: bool
) -> tuple[dict[str, Any], dict[int, int]]:
    """Return the new class-map and the id changes of the ids it lists."""
    new_map: dict[str, Any] = {}
    ids: dict[int, int] = {}
    by_name: dict[str, str] = {}
    for key, name in cmap.items():
        old = as_int_id(key, f"{field}.{key}")
        new = rule.new_id(old, f"{field}.{key}")
        new_name = rule.new_name(old, name, f"{field}.{key}") if type(name) is str else name
        new_key = str(new)
        if new_key in new_map and (new_map[new_key] != new_name or not merge_ok):
            raise FieldError(f"{field}.{key}", f"two classes would get id {new}")
        if type(new_name) is str and by_name.get(new_name, new_key) != new_key:
            raise FieldError(
                f"{field}.{key}",
                f"classes {by_name[new_name]} and {key} would both be {new_name!r}: "
                "merging classes needs the label list (labels=)",
            )
        if type(new_name) is str:
            by_name[new_name] = new_key
        new_map[new_key] = new_name
        ids[old] = new
    return new_map, ids


def _apply(rec: Record, label: Label, rule: _IdRule) -> None:
    """Rewrite every id and class name of one label in place (validating first)."""
    attr, mk = label.attribute, label.metadata_key
    meta = _meta(rec, attr)
    if isinstance(label, BoxLabel):
        _, _, anns, _ = _aligned_boxes(rec, attr)
        cmap = _class_map(meta, f"{mk}.class-map")
        new_map, ids = _remap_class_map(cmap, rule, f"{mk}.class-map", merge_ok=True)
        new_ids = []
        for k, ann in enumerate(anns):
            field = f"{attr}.annotations[{k}].class_id"
            old = as_int_id(ann.get("class_id"), field)
            new_ids.append(ids[old] if old in ids else rule.new_id(old, field))
        for ann, new in zip(anns, new_ids, strict=True):
            ann["class_id"] = _same_type(ann["class_id"], new)
        if "class-map" in meta:
            meta["class-map"] = new_map
    elif isinstance(label, ClassificationLabel):
        old = label.label_id
        name = label.class_name
        new = rule.new_id(old, attr)
        if name is not None:
            meta["class-name"] = rule.new_name(old, name, f"{mk}.class-name")
        dict.__setitem__(rec, attr, _same_type(_dget(rec, attr), new))
    elif isinstance(label, MultiLabel):
        values = expect_list(_dget(rec, attr), attr)
        cmap = _class_map(meta, f"{mk}.class-map")
        new_map, ids = _remap_class_map(cmap, rule, f"{mk}.class-map", merge_ok=True)
        confs = label.confidence_map
        new_values: list[Any] = []
        seen: set[int] = set()
        for k, v in enumerate(values):
            old = as_int_id(v, f"{attr}[{k}]")
            new = ids[old] if old in ids else rule.new_id(old, f"{attr}[{k}]")
            if new not in seen:
                seen.add(new)
                new_values.append(_same_type(v, new))
        dict.__setitem__(rec, attr, new_values)
        if "class-map" in meta:
            meta["class-map"] = new_map
        if "confidence-map" in meta:
            new_confs: dict[str, float] = {}
            for old, conf in confs.items():
                key = str(
                    ids[old] if old in ids else rule.new_id(old, f"{mk}.confidence-map.{old}")
                )
                new_confs[key] = max(conf, new_confs.get(key, conf))
            meta["confidence-map"] = new_confs
    elif isinstance(label, (SegmentationLabel, VideoLabel)):
        key_name = "internal-color-map" if isinstance(label, SegmentationLabel) else "class-map"
        field = f"{mk}.{key_name}"
        raw = meta.get(key_name)
        if raw is None:
            return
        entries = expect_dict(raw, field)
        new_entries: dict[str, Any] = {}
        for key, entry in entries.items():
            old = as_int_id(key, f"{field}.{key}")
            new_key = str(rule.new_id(old, f"{field}.{key}"))
            if new_key in new_entries:
                raise FieldError(
                    f"{field}.{key}",
                    f"classes would merge into id {new_key}: {label.kind} files cannot be merged",
                )
            if isinstance(label, SegmentationLabel):
                entry = expect_dict(entry, f"{field}.{key}")
                name = entry.get("class-name")
                if type(name) is str:
                    entry = {
                        **entry,
                        "class-name": rule.new_name(old, name, f"{field}.{key}.class-name"),
                    }
            elif type(entry) is str:
                entry = rule.new_name(old, entry, f"{field}.{key}")
            new_entries[new_key] = entry
        names = [e.get("class-name") if type(e) is dict else e for e in new_entries.values()]
        dupes = {n for n in names if n is not None and names.count(n) > 1}
        if dupes:
            raise FieldError(
                field,
                f"classes would merge into {sorted(dupes)}: {label.kind} files cannot be merged",
            )
        meta[key_name] = new_entries
    elif isinstance(label, SpanLabel):
        label.entities  # noqa: B018 - validates
        label_names = label.label_names
        ann = _body(rec, attr)["annotations"]
        for ent in ann["entities"]:
            ent["label"] = rule.names.get(ent["label"], ent["label"])
        if "labels" in ann and label_names:
            merged: list[Any] = []
            seen_names: set[str] = set()
            for item in ann["labels"]:
                new_name = rule.names.get(item["label"], item["label"])
                if new_name not in seen_names:
                    seen_names.add(new_name)
                    merged.append({**item, "label": new_name})
            ann["labels"] = merged
    else:  # CustomLabel and unknown types have no classes
        return


def _edit_classes(
    records: Iterable[Record],
    rule: _IdRule,
    attribute: str | None,
    accounting: Accounting | None,
    counter: str,
) -> Iterator[Record]:
    acc = accounting if accounting is not None else Accounting()
    for rec in records:
        where = attribute or "<labels>"
        try:
            label = select_label(rec, attribute)
            if label is None or label.failed or isinstance(label, CustomLabel):
                yield rec
                continue
            where = label.attribute
            before = _snapshot(rec, where)
            _apply(rec, label, rule)
        except FieldError as exc:
            acc.reject_record(rec, exc.field, exc.reason, exc)
            continue
        except (KeyError, TypeError, AttributeError) as exc:  # malformed nested values
            acc.reject_record(rec, where, f"unexpected structure: {exc!r}", exc)
            continue
        if _snapshot(rec, where) != before:  # else: copied byte for byte, and not counted
            rec.mark_modified()
            acc.count(counter)
        yield rec


def _snapshot(rec: Record, attribute: str) -> str:
    """Return the label value and metadata as text, to tell whether an edit changed anything."""
    return json.dumps([dict.get(rec, attribute), dict.get(rec, attribute + META)], default=repr)


def rename_classes(
    records: Iterable[Record],
    mapping: Mapping[str, str],
    *,
    labels: Sequence[str] | None = None,
    attribute: str | None = None,
    accounting: Accounting | None = None,
) -> Iterator[Record]:
    """Rename classes; classes renamed to the same name are merged.

    Without ``labels`` only names change (``class-name``, ``class-map`` values, colour-map
    names, entity labels) and a line on which two classes would merge is rejected. With the
    job's label list, ids follow :func:`renamed_labels` (merged classes share the first one's
    position, later ids shift down): label values, ``class_id``, class-map and confidence-map
    keys are rewritten; a merged multi-label keeps the highest confidence; write the new list
    with :func:`write_label_categories`. Lines whose names disagree with ``labels`` are rejected.

    Examples
    --------
    >>> from manifests.io import read
    >>> line = ('{"source-ref": "s3://b/1.jpg", "t": [0, 2], '
    ...         '"t-metadata": {"class-map": {"0": "heron", "2": "duck"}, '
    ...         '"confidence-map": {"0": 0.5, "2": 0.8}, '
    ...         '"type": "groundtruth/image-classification-multilabel"}}')
    >>> mapping = {"duck": "bird", "heron": "bird"}
    >>> rec = next(rename_classes(read([line]), mapping, labels=["heron", "gull", "duck"]))
    >>> rec["t"], rec["t-metadata"]["class-map"], rec["t-metadata"]["confidence-map"]
    ([0], {'0': 'bird'}, {'0': 0.8})
    """
    if labels is None:
        id_map = None
        merged = [n for n in set(mapping.values()) if list(mapping.values()).count(n) > 1]
        if merged:
            raise ValueError(
                f"merging classes into {sorted(merged)} needs the label list (labels=)"
            )
    else:
        _, id_map = renamed_labels(labels, mapping)
    rule = _IdRule(mapping, id_map, labels, ids_strict=labels is not None)
    return _edit_classes(records, rule, attribute, accounting, "lines renamed")


def remap_ids(
    records: Iterable[Record],
    id_map: Mapping[int, int],
    *,
    attribute: str | None = None,
    accounting: Accounting | None = None,
) -> Iterator[Record]:
    """Renumber class ids everywhere they occur.

    Label values, ``class_id``, ``class-map``, ``confidence-map`` and ``internal-color-map``
    keys are rewritten; names are unchanged.

    Ids missing from ``id_map`` keep their value unless another id is mapped onto them (the
    line is then rejected). Build ``id_map`` by hand or with :func:`compact_id_map` over
    :meth:`ClassCatalog.ids` of :func:`scan_classes`; write the new label-category file from
    :func:`remap_labels`. NER and custom labels have no ids and pass unchanged.

    Examples
    --------
    >>> from manifests.io import read
    >>> line = ('{"source": "x", "c": 5, "c-metadata": {"class-name": "duck", "confidence": 0.9, '
    ...         '"type": "groundtruth/text-classification"}}')
    >>> next(remap_ids(read([line]), {5: 1}))["c"]
    1
    """
    values = list(id_map.values())
    if len(set(values)) != len(values):
        raise ValueError("id_map maps two ids to the same id")
    rule = _IdRule({}, dict(id_map), None, ids_strict=False)
    return _edit_classes(records, rule, attribute, accounting, "lines remapped")
