"""Label-category files, class catalogs and id maps (reference section 3.9).

Re-exported by :mod:`manifests.transforms` and :mod:`manifests`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from manifests._accounting import shown_record
from manifests.errors import AmbiguousLabelError, FieldError, ManifestError
from manifests.records import (
    BoxLabel,
    ClassificationLabel,
    Label,
    MultiLabel,
    Record,
    SegmentationLabel,
    SpanLabel,
    VideoLabel,
)

__all__ = [
    "LABEL_CATEGORY_VERSION",
    "ClassCatalog",
    "compact_id_map",
    "label_category_document",
    "parse_label_categories",
    "read_label_categories",
    "remap_labels",
    "renamed_labels",
    "scan_classes",
    "select_label",
    "write_label_categories",
]

LABEL_CATEGORY_VERSION = "2018-11-28"


def select_label(record: Record, attribute: str | None = None) -> Label | None:
    """Return the label a transform works on: ``attribute``, or the line's only label.

    Returns None when the line has no such label; raises
    :class:`~manifests.errors.AmbiguousLabelError` (an
    :class:`~manifests.errors.InvalidLineError`, field ``<labels>``) when ``attribute`` is None
    and the line has several. It is not a :class:`~manifests.errors.FieldError`: transforms do
    not turn it into a rejection but let it stop the run, since only the caller can choose.

    Examples
    --------
    >>> rec = Record({"source": "x", "a-metadata": {"job-name": "j"},
    ...               "b-metadata": {"job-name": "k"}})
    >>> select_label(rec, "b").attribute
    'b'
    >>> select_label(rec)
    Traceback (most recent call last):
    ...
    manifests.errors.AmbiguousLabelError: <memory>: <labels>: 2 label attributes (a, b): choose one
    """
    if attribute is not None:
        return record.label(attribute)
    labels = record.labels()
    if not labels:
        return None
    if len(labels) > 1:
        raise AmbiguousLabelError(
            [lab.attribute for lab in labels],
            lineno=record.lineno,
            source=record.source,
            line=shown_record(record) if record.raw is None else record.raw,
        )
    return labels[0]


# -------------------------------------------------------------------------------------------------
# label-category files and class catalogs
# -------------------------------------------------------------------------------------------------


def label_category_document(labels: Sequence[str], **extra: Any) -> dict[str, Any]:
    """Build the label-category configuration of reference section 3.9 for ``labels``.

    Examples
    --------
    >>> label_category_document(["heron", "gull"])
    {'document-version': '2018-11-28', 'labels': [{'label': 'heron'}, {'label': 'gull'}]}
    """
    doc: dict[str, Any] = {"document-version": LABEL_CATEGORY_VERSION}
    doc["labels"] = [{"label": name} for name in labels]
    doc.update(extra)
    return doc


def write_label_categories(
    labels: Sequence[str], path: str | os.PathLike[str], **extra: Any
) -> None:
    """Write :func:`label_category_document` as one line of compact UTF-8 JSON.

    Parameters
    ----------
    labels : sequence of str
        Class names; class id ``k`` is ``labels[k]`` (reference 3.9).
    path : path-like
        The file to write (replaced if it exists).
    **extra
        Other top-level keys of the document.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "labels.json")
    >>> write_label_categories(["heron", "gull", "duck"], path)
    >>> with open(path, encoding="utf-8") as fh:
    ...     print(fh.read(), end="")
    {"document-version":"2018-11-28","labels":[{"label":"heron"},{"label":"gull"},{"label":"duck"}]}
    >>> read_label_categories(path)
    ['heron', 'gull', 'duck']
    >>> folder.cleanup()
    """
    text = json.dumps(
        label_category_document(labels, **extra), ensure_ascii=False, separators=(",", ":")
    )
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text + "\n")


def parse_label_categories(text: str) -> list[str]:
    r"""Class names, in id order, from a label-category document, a JSON list or plain lines.

    Examples
    --------
    >>> parse_label_categories('{"document-version": "2018-11-28", '
    ...                        '"labels": [{"label": "a"}, {"label": "b"}]}')
    ['a', 'b']
    >>> parse_label_categories('["a", "b"]'), parse_label_categories("a\nb\n")
    (['a', 'b'], ['a', 'b'])
    """
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith(("{", "[")):
        doc = json.loads(stripped)
        items = doc.get("labels") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise ManifestError("a label-category document needs a 'labels' list")
        out = []
        for k, item in enumerate(items):
            name = item.get("label") if isinstance(item, dict) else item
            if not isinstance(name, str):
                raise ManifestError(f"labels[{k}]: expected a label name string")
            out.append(name)
        return out
    return [line.strip() for line in stripped.splitlines() if line.strip()]


def read_label_categories(path: str | os.PathLike[str]) -> list[str]:
    r""":func:`parse_label_categories` of a file.

    The file may be a label-category document (reference 3.9), a JSON list of names or one name
    per line; a UTF-8 byte-order mark is ignored.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "classes.txt")
    >>> with open(path, "w", encoding="utf-8") as fh:
    ...     _ = fh.write("heron\ngull\n\nduck\n")
    >>> read_label_categories(path)
    ['heron', 'gull', 'duck']
    >>> folder.cleanup()
    """
    with open(path, encoding="utf-8") as fh:
        return parse_label_categories(fh.read())


class ClassCatalog:
    """Class ids and names collected from labels, to build a label-category file.

    Parameters
    ----------
    labels : sequence of str, optional
        Known label list (id = position) to start from.

    Examples
    --------
    >>> cat = ClassCatalog()
    >>> cat.add(2, "duck"); cat.add(0, "heron")
    >>> cat.ids(), cat.labels(allow_holes=True)
    ([0, 2], ['heron', None, 'duck'])
    >>> cat.labels()
    Traceback (most recent call last):
    ...
    manifests.errors.ManifestError: no name for class id 1: pass the label-category file
    """

    def __init__(self, labels: Sequence[str] | None = None) -> None:
        self.names: dict[int, str] = dict(enumerate(labels or ()))
        self.seen: set[int] = set()
        self.conflicts: dict[int, set[str]] = {}
        self.span_names: dict[str, None] = {}

    def add(self, class_id: int, name: str | None) -> None:
        """Record that ``class_id`` was seen, named ``name`` (None: name unknown)."""
        self.seen.add(class_id)
        if name is None:
            return
        known = self.names.setdefault(class_id, name)
        if known != name:
            self.conflicts.setdefault(class_id, {known}).add(name)

    def add_label(self, label: Label) -> None:
        """Record the classes of a label view (raises FieldError for unusable values)."""
        if isinstance(label, (BoxLabel, MultiLabel, VideoLabel)):
            for cid, name in label.class_map.items():
                self.add(cid, name)
            for cid in label.class_ids():
                self.add(cid, None)
        elif isinstance(label, ClassificationLabel):
            if label.has_value:
                self.add(label.label_id, label.class_name)
        elif isinstance(label, SegmentationLabel):
            for cid, entry in label.color_map.items():
                self.add(cid, entry.class_name)
        elif isinstance(label, SpanLabel):
            for name in label.label_names:
                self.span_names.setdefault(name, None)
            for ent in label.entities:
                self.span_names.setdefault(ent.label, None)

    def ids(self) -> list[int]:
        """Sorted class ids seen."""
        return sorted(self.seen)

    def labels(self, *, allow_holes: bool = False) -> list[Any]:
        """Names by id 0..max (named entity labels for NER catalogs).

        Raises :class:`~manifests.errors.ManifestError` when one id got two names, or (unless
        ``allow_holes``, which puts None there) when an id below the largest has no name.
        """
        if self.conflicts:
            cid, names = next(iter(self.conflicts.items()))
            raise ManifestError(f"class id {cid} has several names: {sorted(names)}")
        if not self.names and self.span_names:
            return list(self.span_names)
        known = set(self.names) | self.seen
        size = max(known) + 1 if known else 0
        out: list[Any] = [self.names.get(i) for i in range(size)]
        if not allow_holes:
            missing = [i for i, name in enumerate(out) if name is None]
            if missing:
                ids = ", ".join(map(str, missing[:10]))
                raise ManifestError(f"no name for class id {ids}: pass the label-category file")
        return out

    def document(self, extra_labels: Sequence[str] = ()) -> dict[str, Any]:
        """Label-category document of :meth:`labels` plus ``extra_labels`` (not yet listed)."""
        labels = self.labels()
        labels += [name for name in extra_labels if name not in labels]
        return label_category_document(labels)


def scan_classes(records: Iterable[Record], attribute: str | None = None) -> ClassCatalog:
    """First pass: the classes used by ``attribute`` over all records (bad lines are skipped).

    Examples
    --------
    >>> from manifests.io import read
    >>> line = ('{"source-ref": "s3://b/1.jpg", "p": {"image_size": [{"width": 9, "height": 9}], '
    ...     '"annotations": [{"class_id": 4, "left": 0, "top": 0, "width": 1, "height": 1}]}, '
    ...     '"p-metadata": {"objects": [{"confidence": 1}], "class-map": {"4": "duck"}, '
    ...     '"type": "groundtruth/object-detection"}}')
    >>> scan_classes(read([line])).names
    {4: 'duck'}
    """
    catalog = ClassCatalog()
    for rec in records:
        try:
            label = select_label(rec, attribute)
            if label is not None and not label.failed:
                catalog.add_label(label)
        except FieldError:
            continue
    return catalog


def compact_id_map(ids: Iterable[int]) -> dict[int, int]:
    """Map the given ids, sorted, to 0..n-1.

    Examples
    --------
    >>> compact_id_map([5, 0, 3, 5])
    {0: 0, 3: 1, 5: 2}
    """
    return {old: new for new, old in enumerate(sorted(set(ids)))}


def renamed_labels(
    labels: Sequence[str], mapping: Mapping[str, str]
) -> tuple[list[str], dict[int, int]]:
    """Return the new label list and the old-id -> new-id map after renaming classes.

    Merged names (several old names renamed to one) share one id.

    The new list keeps the first occurrence of every new name in the old order; ids are
    positions in it.

    Examples
    --------
    >>> renamed_labels(["heron", "gull", "duck"], {"duck": "heron"})
    (['heron', 'gull'], {0: 0, 1: 1, 2: 0})
    >>> renamed_labels(["heron", "gull"], {"gull": "seagull"})
    (['heron', 'seagull'], {0: 0, 1: 1})
    """
    unknown = [name for name in mapping if name not in labels]
    if unknown:
        raise ValueError(f"classes not in the label list: {unknown}")
    new_labels: list[str] = []
    index: dict[str, int] = {}
    id_map: dict[int, int] = {}
    for old, name in enumerate(labels):
        new_name = mapping.get(name, name)
        if new_name not in index:
            index[new_name] = len(new_labels)
            new_labels.append(new_name)
        id_map[old] = index[new_name]
    return new_labels, id_map


def remap_labels(
    labels: Sequence[str] | Mapping[int, str],
    id_map: Mapping[int, int],
    *,
    drop_unmapped: bool = False,
) -> list[str]:
    """Return the label list after :func:`remap_ids` with ``id_map`` (new id = position).

    Ids missing from ``id_map`` keep their id, or are left out with ``drop_unmapped``. The new
    ids must be exactly 0..n-1.

    Examples
    --------
    >>> remap_labels(["heron", "gull", "duck"], {0: 0, 2: 1}, drop_unmapped=True)
    ['heron', 'duck']
    >>> remap_labels(["a", "b"], {0: 1, 1: 0})
    ['b', 'a']
    """
    items = labels.items() if isinstance(labels, Mapping) else enumerate(labels)
    placed: dict[int, str] = {}
    for old, name in items:
        if old not in id_map and drop_unmapped:
            continue
        new = id_map.get(old, old)
        if new in placed:
            raise ValueError(f"two classes get id {new}: {placed[new]!r} and {name!r}")
        placed[new] = name
    missing = [i for i in range(len(placed)) if i not in placed]
    if missing:
        raise ValueError(f"the new ids are not 0..{len(placed) - 1}: no class gets id {missing[0]}")
    return [placed[i] for i in range(len(placed))]
