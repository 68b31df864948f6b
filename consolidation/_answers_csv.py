"""Reading ``item,worker,label`` CSV files for :meth:`Annotations.from_csv`, line by line.

Every error names the file, the line and the field: bytes that are not UTF-8 (found per row
with ``surrogateescape``), a missing column, an empty value, a label outside the classes, a
repeated answer. Kept apart from :mod:`._annotations`, which encodes the arrays.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._errors import AnnotationError

__all__ = ["check_csv_rows", "integer_labels", "not_utf8", "read_answer_columns"]


def not_utf8(
    fields: Sequence[str], names: Sequence[str]
) -> tuple[str, str, UnicodeDecodeError] | None:
    r"""Find a field that held bytes that are not UTF-8 (read with ``errors="surrogateescape"``).

    Parameters
    ----------
    fields : sequence of str
        The fields of one CSV row, decoded with ``surrogateescape``.
    names : sequence of str
        Column names (the header); fields beyond it are named ``column N``.

    Returns
    -------
    (field, reason, error) or None
        The first bad field's name, ``not UTF-8 (invalid byte 0x.. in '...')`` and the
        :class:`UnicodeDecodeError` that strict decoding of its bytes raises; None when every
        field is valid UTF-8.

    Examples
    --------
    >>> bad = b"caf\xe9".decode("utf-8", "surrogateescape")
    >>> not_utf8(["i1", bad], ["item", "label"])[:2]
    ('label', "not UTF-8 (invalid byte 0xe9 in 'caf\\xe9')")
    >>> not_utf8(["i1", "café"], ["item", "label"]) is None
    True
    """
    for pos, value in enumerate(fields):
        if value.isascii():
            continue
        raw = value.encode("utf-8", "surrogateescape")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            name = names[pos] if pos < len(names) else f"column {pos + 1}"
            shown = raw.decode("utf-8", "backslashreplace")
            return name, f"not UTF-8 (invalid byte 0x{raw[exc.start]:02x} in '{shown}')", exc
    return None


def read_answer_columns(
    path: str | os.PathLike[str], classes: Sequence[Any] | None
) -> tuple[list[str], list[str], list[Any], list[int]]:
    """Items, workers, labels and line numbers of the answers in a CSV file.

    Labels that are all integers written canonically are read as integers (unless ``classes``
    are not all integers), so that class order is numeric; see :func:`integer_labels`.
    """
    items: list[str] = []
    workers: list[str] = []
    labels: list[str] = []
    lines: list[int] = []
    # Bytes that are not UTF-8 become lone surrogates, found per row with their line.
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip().lower() for h in next(reader, [])]
        except csv.Error as exc:
            raise AnnotationError(f"{path}:1: header: {exc}") from exc
        bad = not_utf8(header, [f"column {k + 1}" for k in range(len(header))])
        if bad is not None:
            raise AnnotationError(f"{path}:1: header: {bad[1]}") from bad[2]
        item_name = "item" if "item" in header else "task"
        if any(c not in header for c in (item_name, "worker", "label")):
            raise AnnotationError(
                f"{path}:1: header must name item (or task), worker and label columns, "
                f"got {header!r}"
            )
        item_col, worker_col = header.index(item_name), header.index("worker")
        label_col = header.index("label")
        width = max(item_col, worker_col, label_col)
        try:
            for fields in reader:
                line_no = reader.line_num
                if not fields:
                    continue
                if len(fields) <= width:
                    raise AnnotationError(
                        f"{path}:{line_no}: <line>: expected {len(header)} fields, "
                        f"got {len(fields)}"
                    )
                if not "".join(fields).isascii():
                    bad = not_utf8(fields, header)
                    if bad is not None:
                        field, reason, cause = bad
                        raise AnnotationError(f"{path}:{line_no}: {field}: {reason}") from cause
                item, worker, label = fields[item_col], fields[worker_col], fields[label_col]
                for field, value in (("item", item), ("worker", worker), ("label", label)):
                    if value == "":
                        raise AnnotationError(f"{path}:{line_no}: {field}: empty value")
                items.append(item)
                workers.append(worker)
                labels.append(label)
                lines.append(line_no)
        except csv.Error as exc:
            raise AnnotationError(f"{path}:{reader.line_num}: <line>: {exc}") from exc
    if not items:
        raise AnnotationError(f"{path}: no answers")
    return items, workers, integer_labels(labels, classes), lines


def integer_labels(labels: list[str], classes: Sequence[Any] | None) -> list[Any]:
    """Labels as integers when every one is the canonical text of an integer, else unchanged.

    Canonical means ``str(int(v)) == v``: ``"-3"`` and ``"10"`` are integers, while ``"01"``,
    ``"+1"``, ``" 1"`` and ``"1_000"`` are not, so distinct strings never become one class.
    When ``classes`` are given and not all integers, labels stay strings; when they are all
    integers, each canonical label becomes an integer and the others stay strings (so that the
    error names the label that is not a class, ``'01'``, rather than every label).

    Examples
    --------
    >>> integer_labels(["2", "10", "-1"], None)
    [2, 10, -1]
    >>> integer_labels(["1", "01", "+1"], None)
    ['1', '01', '+1']
    >>> integer_labels(["1", "01"], [0, 1])
    [1, '01']
    """
    if classes is not None:
        if not all(isinstance(c, int | np.integer) for c in classes):
            return labels
        return [_canonical_int(v) for v in labels]
    try:
        parsed = [int(v) for v in labels]
    except ValueError:
        return labels
    if all(str(n) == v for n, v in zip(parsed, labels, strict=True)):
        return parsed
    return labels


def _canonical_int(text: str) -> int | str:
    try:
        value = int(text)
    except ValueError:
        return text
    return value if str(value) == text else text


def check_csv_rows(
    path: str | os.PathLike[str],
    lines: list[int],
    items: list[str],
    workers: list[str],
    labels: list[Any],
    classes: Sequence[Any] | None,
    duplicates: str,
) -> None:
    """Raise, naming the file and line, for a label outside ``classes`` or a repeated answer."""
    if classes is not None:
        try:
            known = set(classes)
        except TypeError:  # unhashable classes: from_arrays names the row
            known = None
        if known is not None:
            for line, label in zip(lines, labels, strict=True):
                if label not in known:
                    raise AnnotationError(
                        f"{path}:{line}: label: {label!r} is not one of the classes "
                        f"{list(classes)!r}"
                    )
    if duplicates == "error":
        first: dict[tuple[str, str], int] = {}
        for line, item, worker in zip(lines, items, workers, strict=True):
            seen = first.setdefault((item, worker), line)
            if seen != line:
                raise AnnotationError(
                    f"{path}:{line}: worker: {worker!r} answered item {item!r} again (first on "
                    f"line {seen}); pass duplicates='last' or 'keep'"
                )
