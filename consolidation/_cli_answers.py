"""Answer sources of ``gt-consolidate``: payloads, worker-response folders, CSV and JSON Lines.

An answer source is a path (or ``-`` for stdin) holding worker answers in one of four shapes,
recognised by the path:

* a folder: a Ground Truth worker-response tree (``annotations/worker-response/iteration-<n>/``);
* ``.json`` (or ``.json.gz``): a consolidation-request payload, the JSON array a post-annotation
  Lambda receives;
* ``.csv``: one answer per row, header ``item,worker,label`` (``task`` for ``item`` is accepted);
  multi-label: ``item,worker,labels`` (a JSON list or ``a|b``); boxes: ``item,worker,label,left,
  top,width,height[,image_width,image_height]`` with an empty label and no box for a worker who
  drew nothing (what ``gt-manifest responses --format csv`` writes);
* ``.jsonl``: one answer per line, ``{"item", "worker", "label"}`` (or ``"labels"``, ``"boxes"``,
  or the raw ``"content"`` that ``gt-manifest responses`` writes).

Standard input is recognised by its first character (``[`` payload, ``{`` JSON Lines, else CSV).
Every answer counts as one ``read``; an answer that cannot be used is rejected through a
:class:`manifests.Accounting` with ``file:line: field: reason``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from manifests.errors import FieldError
from manifests.io import Accounting, read
from manifests.responses import (
    AnswerRow,
    answer_boxes,
    answer_label,
    answer_labels,
    find_element,
    read_payload,
    read_worker_responses,
)

from ._answers_csv import not_utf8
from ._box_geometry import box_problem, image_size_problem
from ._cli_io import (
    BAD_BYTES,
    ESCAPE,
    InputError,
    check_exists,
    check_header,
    read_bytes,
    source_name,
    text_lines,
)

__all__ = ["AnswerSource", "open_source"]

_TEXT_ELEMENTS = ("crowd-classifier", "crowd-classifier-multi-select")
_BOX_KEYS = ("left", "top", "width", "height")
#: Key of the answer in a plain JSON Lines row, by task.
_ANSWER_KEYS = {"classification": "label", "multilabel": "labels", "boxes": "boxes"}

# -------------------------------------------------------------------------------------------------
# answer sources
# -------------------------------------------------------------------------------------------------


@dataclass
class AnswerSource:
    """Answers of one task read from a path, with the accounting they update.

    Iterating yields one tuple per usable answer: ``(item, worker, label)`` for
    ``classification``, ``(item, worker, labels)`` for ``multilabel``, ``(item, worker, boxes,
    (width, height) or None)`` for ``boxes``; item, worker and labels are strings.
    """

    path: str
    task: str
    acc: Accounting
    classes: Sequence[str] | None = None
    #: Where ``classes`` came from, for messages.
    classes_from: str = "--classes"
    kind: str = ""
    text: bool = False
    _data: bytes | None = field(default=None, repr=False)
    #: CSV column positions by name, set when the header has been read.
    _columns: dict[str, int] = field(default_factory=dict, repr=False)
    #: Boxes: the image size each item was first given with, and where (source, line).
    _sizes: dict[str, tuple[tuple[Any, Any], str, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.kind = self._detect()

    def _detect(self) -> str:
        path = self.path
        if path != "-" and os.path.isdir(path):
            return "responses"
        check_exists(path)
        lower = path.lower().removesuffix(".gz")
        for suffix, kind in ((".json", "payload"), (".csv", "csv"), (".tsv", "csv")):
            if lower.endswith(suffix):
                return kind
        if lower.endswith((".jsonl", ".ndjson", ".manifest")):
            return "jsonl"
        self._data = read_bytes(path)
        head = self._data.lstrip()[:1]
        return "payload" if head == b"[" else "jsonl" if head == b"{" else "csv"

    @property
    def name(self) -> str:
        """The source name used in messages."""
        return source_name(self.path)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        if self.kind == "csv":
            return self._csv()
        if self.kind == "jsonl":
            return self._jsonl()
        return self._answer_rows()

    # ---------------------------------------------------------------- checks
    def _reject(
        self, source: str, lineno: int, fld: str, reason: str, cause: BaseException | None = None
    ) -> None:
        self.acc.reject(source, lineno, fld, reason, cause=cause)

    def _check_labels(self, labels: Iterable[str], source: str, lineno: int, fld: str) -> bool:
        if self.classes is None:
            return True
        for label in labels:
            if label not in self.classes:
                self._reject(source, lineno, fld, f"{label!r} is not one of {self.classes_from}")
                return False
        return True

    # ---------------------------------------------------------------- payload / worker responses
    def _answer_rows(self) -> Iterator[tuple[Any, ...]]:
        inner = Accounting(on_error="collect", max_rejections=10**9)
        if self.kind == "responses":
            rows: Iterable[AnswerRow] = read_worker_responses(self.path, accounting=inner)
        elif self.path != "-" and not self.path.lower().endswith(".gz") and self._data is None:
            rows = read_payload(self.path, accounting=inner)
        else:
            data = self._data if self._data is not None else read_bytes(self.path)
            try:
                doc = json.loads(data)
            except ValueError as exc:
                raise InputError(f"{self.name}: <file>: not valid JSON: {exc}") from exc
            if not isinstance(doc, list):
                raise InputError(f"{self.name}: <file>: a payload is a JSON array of data objects")
            rows = read_payload(doc, accounting=inner)
        seen = 0
        for row in rows:
            seen = self._forward(inner, seen)
            if not self.text and isinstance(row.content, dict):
                self.text = any(k in row.content for k in _TEXT_ELEMENTS)
            source = row.source if row.source and row.source != "<payload>" else self.name
            out = self._convert_row(row, source, 0)
            if out is not None:
                yield out
        self._forward(inner, seen)
        self.acc.read += inner.read

    def _forward(self, inner: Accounting, seen: int) -> int:
        for rej in inner.rejections[seen:]:
            source = self.name if rej.source in ("<payload>", "-") else rej.source
            self._reject(source, rej.lineno, rej.field, rej.reason)
        return len(inner.rejections)

    def _convert_row(
        self, row: AnswerRow, source: str, lineno: int, plain: bool = False
    ) -> tuple[Any, ...] | None:
        where = f"item {row.item}, worker {row.worker}: " if not lineno else ""
        try:
            if self.task == "classification":
                label = answer_label(row.content)
                if not self._check_labels([label], source, lineno, f"{where}label"):
                    return None
                return (row.item, row.worker, label)
            if self.task == "multilabel":
                labels = answer_labels(row.content)
                if not self._check_labels(labels, source, lineno, f"{where}labels"):
                    return None
                return (row.item, row.worker, labels)
            ans = answer_boxes(row.content)
            name, _ = find_element(row.content, "boundingBoxes", "inputImageProperties")
            for k, box in enumerate(ans.boxes):
                problem = box_problem(box.left, box.top, box.width, box.height)
                if problem is not None:
                    path = f"content.{name}.boundingBoxes" if name else "content.boundingBoxes"
                    raise FieldError(f"{path}[{k}].{problem[0]}", problem[1])
            size = None
            if ans.image_width is not None or ans.image_height is not None:
                size = (ans.image_width, ans.image_height)
                props = (
                    f"content.{name}.inputImageProperties"
                    if name
                    else "content.inputImageProperties"
                )
                self._check_size(row.item, size, source, lineno, props)
        except FieldError as exc:
            fld = _plain_field(exc.field) if plain else exc.field
            self._reject(source, lineno, f"{where}{fld}", exc.reason)
            return None
        if not self._check_labels((b.label for b in ans.boxes), source, lineno, f"{where}label"):
            return None
        if size is not None:
            self._sizes.setdefault(row.item, (size, source, lineno))
        return (row.item, row.worker, list(ans.boxes), size)

    def _check_size(
        self, item: str, size: tuple[Any, Any], source: str, lineno: int, fld: str
    ) -> None:
        """Raise :class:`FieldError` for an unusable image size, or one that differs.

        ``fld`` is the size's field path; an earlier answer on the same image may have given
        another size.
        """
        if None in size:
            missing = "width" if size[0] is None else "height"
            raise FieldError(f"{fld}.{missing}", "missing (image width and height go together)")
        problem = image_size_problem(*size)
        if problem is not None:
            raise FieldError(f"{fld}.{problem[0]}", problem[1])
        seen = self._sizes.get(item)
        if seen is not None and seen[0] != size:
            if not seen[2]:
                given = "another answer"
            else:
                given = f"line {seen[2]}" if seen[1] == source else f"{seen[1]}:{seen[2]}"
            changed = "width" if seen[0][0] != size[0] else "height"
            raise FieldError(
                f"{fld}.{changed}",
                f"image size {size[0]}x{size[1]} differs from {seen[0][0]}x{seen[0][1]} "
                f"given on {given} for image {item!r}",
            )

    # ---------------------------------------------------------------- JSON Lines
    def _jsonl(self) -> Iterator[tuple[Any, ...]]:
        source: Any = self.path
        if self._data is not None or self.path == "-":
            data = self._data if self._data is not None else read_bytes(self.path)
            source = io.BytesIO(data)
        with read(source, accounting=self.acc, name=self.name, max_line_length=None) as reader:
            for rec in reader:
                out = self._convert_record(rec, rec.source, rec.lineno)
                if out is not None:
                    yield out

    def _convert_record(self, rec: Mapping[str, Any], src: str, lineno: int) -> Any:
        item = rec.get("item", rec.get("task"))
        worker = rec.get("worker", rec.get("workerId"))
        for key, value in (("item", item), ("worker", worker)):
            if value is None or value == "" or isinstance(value, (dict, list, bool)):
                self._reject(src, lineno, key, "missing or not a string/number")
                return None
        content: Any
        if "content" in rec:
            content = rec["content"]
        else:
            # The answer itself must be there: a row without it is not "picked nothing" ([]).
            key = _ANSWER_KEYS[self.task]
            if rec.get(key) is None:
                reason = "missing" if key not in rec else "null; write [] for an empty answer"
                if self.task == "classification":
                    reason = "missing" if key not in rec else "expected a string, got null"
                self._reject(src, lineno, key, reason)
                return None
            value = rec[key]
            if self.task == "classification":
                content = {"label": _as_label(value)}
            elif self.task == "multilabel":
                content = {
                    "labels": [_as_label(x) for x in value] if type(value) is list else value
                }
            else:
                content = {"boundingBoxes": value}
            width, height = rec.get("image_width"), rec.get("image_height")
            if width is not None or height is not None:
                content["inputImageProperties"] = {"width": width, "height": height}
        row = AnswerRow(str(item), str(worker), content, source=src)
        return self._convert_row(row, src, lineno, plain="content" not in rec)

    # ---------------------------------------------------------------- CSV
    def _csv_rows(self, *, fields_only: bool = False) -> Iterator[tuple[int, Any]]:
        """Yield (line number, row) per data line.

        The row is a dict by column name, or with ``fields_only`` the list of fields
        (``self._columns`` then maps names to positions; the last of equal names wins, as in
        the dict).
        """
        bad_bytes = BAD_BYTES[0]
        data = self._data if self._data is not None else None
        if data is None and (self.path == "-" or self.path.lower().endswith(".gz")):
            data = read_bytes(self.path)
        fh: IO[str]
        if data is not None:
            fh = text_lines(data)
        else:
            fh = open(  # noqa: SIM115
                self.path, encoding="utf-8-sig", errors=ESCAPE, newline=""
            )
        with fh:
            delimiter = "\t" if self.path.lower().removesuffix(".gz").endswith(".tsv") else ","
            reader = csv.reader(fh, delimiter=delimiter)
            try:
                raw_header = next(reader, [])
            except csv.Error as exc:
                raise InputError(f"{self.name}:1: header: {exc}") from exc
            check_header(self.name, raw_header)
            header = [h.strip().lower() for h in raw_header]
            if "item" not in header and "task" in header:
                header[header.index("task")] = "item"
            need = {"classification": "label", "multilabel": "labels", "boxes": "label"}[self.task]
            missing = [c for c in ("item", "worker", need) if c not in header]
            if self.task == "boxes":
                missing += [c for c in _BOX_KEYS if c not in header]
            if missing:
                raise InputError(
                    f"{self.name}:1: header: missing column(s) {', '.join(missing)} "
                    f"for {self.task} (got {','.join(header)})"
                )
            self._columns = {name: pos for pos, name in enumerate(header)}
            try:
                for fields in reader:
                    if not fields or fields == [""]:
                        continue
                    if len(fields) != len(header):
                        self.acc.read += 1
                        self._reject(
                            self.name,
                            reader.line_num,
                            "<line>",
                            f"expected {len(header)} fields, got {len(fields)}",
                        )
                        continue
                    if BAD_BYTES[0] != bad_bytes and not "".join(fields).isascii():
                        bad = not_utf8(fields, header)
                        if bad is not None:
                            self.acc.read += 1
                            self._reject(self.name, reader.line_num, *bad[:2], cause=bad[2])
                            continue
                    if fields_only:
                        yield reader.line_num, fields
                    else:
                        yield reader.line_num, dict(zip(header, fields, strict=True))
            except csv.Error as exc:
                raise InputError(f"{self.name}:{reader.line_num}: <line>: {exc}") from exc

    def _csv(self) -> Iterator[tuple[Any, ...]]:
        if self.task == "boxes":
            yield from self._csv_boxes()
            return
        if self.task == "classification":
            yield from self._csv_classification()
            return
        for lineno, row in self._csv_rows():
            self.acc.read += 1
            item, worker = row["item"], row["worker"]
            empty = "item" if not item else "worker" if not worker else ""
            if empty:
                self._reject(self.name, lineno, empty, "empty value")
                continue
            if self.task == "classification":
                label = row["label"]
                if not label:
                    self._reject(self.name, lineno, "label", "empty value")
                elif self._check_labels([label], self.name, lineno, "label"):
                    yield (item, worker, label)
                continue
            labels = _split_labels(row["labels"])
            if labels is None:
                self._reject(self.name, lineno, "labels", "expected a JSON list of strings or a|b")
            elif self._check_labels(labels, self.name, lineno, "labels"):
                yield (item, worker, labels)

    def _csv_classification(self) -> Iterator[tuple[Any, ...]]:
        # The hot path of the CLI on big CSV files: fields by position, no dict per row (3x
        # faster); rows that fail a check go through the same messages as the other tasks.
        acc = self.acc
        classes = self.classes
        cols: tuple[int, int, int] | None = None
        for lineno, fields in self._csv_rows(fields_only=True):
            if cols is None:
                cols = (self._columns["item"], self._columns["worker"], self._columns["label"])
            acc.read += 1
            item, worker, label = fields[cols[0]], fields[cols[1]], fields[cols[2]]
            if item and worker and label and (classes is None or label in classes):
                yield (item, worker, label)
                continue
            empty = "item" if not item else "worker" if not worker else "label" if not label else ""
            if empty:
                self._reject(self.name, lineno, empty, "empty value")
            else:
                self._check_labels([label], self.name, lineno, "label")

    def _csv_boxes(self) -> Iterator[tuple[Any, ...]]:
        # One answer = every row of an (item, worker) pair; a bad row drops the whole answer
        # (None below), as a bad JSON Lines row does: keeping the rest would count the worker
        # in W with a box missing.
        answers: dict[tuple[str, str], tuple[list[tuple[Any, ...]], Any] | None] = {}
        for lineno, row in self._csv_rows():
            item, worker = row["item"], row["worker"]
            if not item or not worker:
                self.acc.read += 1
                self._reject(self.name, lineno, "item" if not item else "worker", "empty value")
                continue
            key = (item, worker)
            if key not in answers:
                self.acc.read += 1
                answers[key] = ([], None)
            answer = answers[key]
            if answer is None:  # already rejected on an earlier line
                continue
            boxes, size = answer
            try:
                row_size = _csv_image_size(row)
                if row_size is not None:
                    if size is not None and size != row_size:
                        raise FieldError(
                            "image_width" if size[0] != row_size[0] else "image_height",
                            f"image size {row_size[0]}x{row_size[1]} differs from "
                            f"{size[0]}x{size[1]} given earlier by the same worker",
                        )
                    self._check_size(item, row_size, self.name, lineno, "image")
                label = row["label"]
                if label == "" and any(row.get(k, "").strip() for k in _BOX_KEYS):
                    raise FieldError(
                        "label",
                        "empty, but the row has a box (a worker who drew nothing has an empty "
                        "label and no coordinates)",
                    )
                box = None if label == "" else _csv_box(row)
            except FieldError as exc:
                fld = exc.field.replace("image.", "image_")
                self._reject(self.name, lineno, fld, exc.reason)
                answers[key] = None
                continue
            if box is not None and not self._check_labels([label], self.name, lineno, "label"):
                answers[key] = None
                continue
            if row_size is not None:
                self._sizes.setdefault(item, (row_size, self.name, lineno))
                answers[key] = (boxes, row_size)
            if box is not None:
                boxes.append((label, *box))
        for (item, worker), answer in answers.items():
            if answer is not None:
                yield (item, worker, answer[0], answer[1])


def _csv_number(row: Mapping[str, str], name: str) -> float:
    text = row.get(name, "").strip()
    if not text:
        raise FieldError(name, "empty")
    try:
        return float(text)
    except ValueError:
        raise FieldError(name, f"not a number: {text!r}") from None


def _csv_box(row: Mapping[str, str]) -> tuple[float, ...]:
    """``(left, top, width, height)`` of a CSV box row, checked (:func:`box_problem`)."""
    coords = tuple(_csv_number(row, k) for k in _BOX_KEYS)
    problem = box_problem(*coords)
    if problem is not None:
        raise FieldError(*problem)
    return coords


def _csv_image_size(row: Mapping[str, str]) -> tuple[int, int] | None:
    """``(image_width, image_height)`` of a CSV box row (positive integers), None if both empty."""
    cells = [row.get(k, "").strip() for k in ("image_width", "image_height")]
    if not any(cells):
        return None
    size = []
    for name, text in zip(("image_width", "image_height"), cells, strict=True):
        if not text:
            raise FieldError(name, "empty (image width and height go together)")
        try:
            value = int(text)
        except ValueError:
            raise FieldError(name, f"expected a positive integer, got {text!r}") from None
        size.append(value)
    problem = image_size_problem(*size)
    if problem is not None:
        raise FieldError(f"image_{problem[0]}", problem[1])
    return size[0], size[1]


_PLAIN_FIELDS = (
    ("content.boundingBoxes", "boxes"),
    ("content.inputImageProperties.width", "image_width"),
    ("content.inputImageProperties.height", "image_height"),
    ("content.inputImageProperties", "image_width"),
    ("content.", ""),
)


def _plain_field(name: str) -> str:
    """Field name of a plain JSON Lines answer row, from the field path of its answer content."""
    for old, new in _PLAIN_FIELDS:
        if name.startswith(old):
            return new + name[len(old) :]
    return name


def _as_label(value: Any) -> Any:
    """Integer labels in JSON Lines rows are class names too (``1`` -> ``"1"``)."""
    return str(value) if type(value) is int else value


def _split_labels(value: str) -> list[str] | None:
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
            return None
        return parsed
    return [x for x in text.split("|") if x] if text else []


def open_source(
    path: str, task: str, acc: Accounting, classes: Sequence[str] | None = None
) -> AnswerSource:
    """Return the :class:`AnswerSource` of ``path`` for ``task`` (the kind is detected)."""
    return AnswerSource(path, task, acc, classes)
