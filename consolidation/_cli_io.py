"""Input and output plumbing of ``gt-consolidate``: bytes, CSV text, gold labels, outputs.

Reading bytes and CSV text (stdin and ``.gz`` included), gold labels, class lists, output
streams and output manifests. Answer sources are in :mod:`._cli_answers`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, cast

from manifests._cli_util import UsageError, load_labels
from manifests._writing import stdout_text
from manifests.errors import ManifestError
from manifests.io import Accounting, read, write
from manifests.validation import check_attribute_name

from . import groundtruth as gt
from ._answers_csv import not_utf8

__all__ = [
    "PROG",
    "InputError",
    "UsageError",
    "class_order",
    "err",
    "load_classes",
    "load_gold",
    "output_text",
    "write_manifest",
]

PROG = "gt-consolidate"


class InputError(ManifestError):
    """Invalid or missing input (exit status 1); the message names the file."""


def err(message: str) -> None:
    """Print ``gt-consolidate: message`` on stderr."""
    print(f"{PROG}: {message}", file=sys.stderr)


# -------------------------------------------------------------------------------------------------
# small readers
# -------------------------------------------------------------------------------------------------


def check_exists(path: str) -> None:
    if path != "-" and not os.path.exists(path):
        raise UsageError(f"{path}: no such file or folder")


def read_bytes(path: str) -> bytes:
    """Whole content of a path or stdin (``-``), gunzipped when it starts with the gzip magic."""
    check_exists(path)
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as fh:
            data = fh.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"{source_name(path)}: not a valid gzip file: {exc}") from exc
    return data


def source_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


#: CSV text is decoded with this error handler: bytes that are not UTF-8 become lone surrogates
#: (as with ``surrogateescape``), so the row that holds them can be rejected with its line and
#: field (:func:`not_utf8`) while the others are read. It counts them in ``BAD_BYTES[0]``, so
#: readers check rows only once the count has moved (the common, clean file pays nothing).
ESCAPE = "gt-consolidate-escape"
BAD_BYTES = [0]


def _escape_bad_bytes(exc: UnicodeError) -> tuple[str, int]:
    BAD_BYTES[0] += 1
    replacement, end = codecs.lookup_error("surrogateescape")(exc)
    return cast(str, replacement), end  # only ever used to decode


codecs.register_error(ESCAPE, _escape_bad_bytes)


def text_lines(data: bytes) -> io.StringIO:
    return io.StringIO(data.decode("utf-8-sig", ESCAPE), newline="")


def check_header(name: str, header: list[str]) -> None:
    """Raise :class:`InputError` for a CSV header that is not UTF-8 text."""
    bad = not_utf8(header, [f"column {k + 1}" for k in range(len(header))])
    if bad is not None:
        raise InputError(f"{name}:1: header: {bad[1]}") from bad[2]


def load_classes(value: str | None) -> list[str] | None:
    """``--classes``: ``a,b,c``, a label-category JSON file or a JSON list file; None if absent."""
    labels = load_labels(value)
    if labels is not None and len(labels) < 1:
        raise UsageError("--classes is empty")
    return labels


def load_gold(path: str) -> dict[str, str]:
    """Read a gold CSV (``item,label``; ``task`` for ``item`` is accepted) as ``{item: label}``."""
    lines = text_lines(read_bytes(path))
    reader = csv.reader(lines)
    name = source_name(path)
    try:
        raw_header = next(reader, [])
        check_header(name, raw_header)
        header = [h.strip().lower() for h in raw_header]
        item_col = header.index("item") if "item" in header else -1
        if item_col < 0 and "task" in header:
            item_col = header.index("task")
        if item_col < 0 or "label" not in header:
            raise InputError(f"{name}:1: header: expected item (or task) and label, got {header!r}")
        label_col = header.index("label")
        gold: dict[str, str] = {}
        for row in reader:
            lineno = reader.line_num
            if not row:
                continue
            if len(row) <= max(item_col, label_col):
                raise InputError(
                    f"{name}:{lineno}: <line>: expected {len(header)} fields, got {len(row)}"
                )
            bad = not_utf8(row, header)
            if bad is not None:
                raise InputError(f"{name}:{lineno}: {bad[0]}: {bad[1]}") from bad[2]
            if row[item_col] == "" or row[label_col] == "":
                raise InputError(
                    f"{name}:{lineno}: {'item' if row[item_col] == '' else 'label'}: empty"
                )
            gold[row[item_col]] = row[label_col]
    except csv.Error as exc:
        raise InputError(f"{name}:{reader.line_num}: <line>: {exc}") from exc
    if not gold:
        raise InputError(f"{name}: no gold labels")
    return gold


def class_order(labels: Iterable[str]) -> list[str]:
    """Sorted distinct labels; numerically when every label is an integer."""
    uniq = set(labels)
    try:
        return sorted(uniq, key=int)
    except ValueError:
        return sorted(uniq)


# -------------------------------------------------------------------------------------------------
# output
# -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def output_text(path: str) -> Iterator[IO[str]]:
    """Yield a UTF-8 text stream on ``path`` or stdout (``-``) for :mod:`csv`."""
    if path == "-":
        sys.stdout.flush()
        if getattr(sys.stdout, "buffer", None) is None:  # pragma: no cover - text only
            yield sys.stdout
            return
        out, release = stdout_text("")
        try:
            yield out
        finally:
            out.flush()
            release()
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        yield fh


def write_manifest(
    manifest: str,
    contents: Mapping[str, gt.LabelContent],
    attribute: str,
    output: str,
    acc: Accounting,
    *,
    strict: bool = True,
) -> tuple[int, list[str]]:
    """Merge label contents into an input manifest (object id = 0-based line number).

    With ``strict``, label contents whose object id matches no line are invalid input: an
    :class:`InputError` naming them, raised before the output is committed (a file output is
    written to a temporary file and left untouched).

    Returns
    -------
    (labelled, unmatched) : (int, list of str)
        Lines that received a label, and object ids that matched no line.
    """
    check_attribute_name(attribute)
    check_exists(manifest)
    labelled = 0
    matched: set[str] = set()
    line_acc = Accounting(on_error="raise")

    def merged() -> Iterator[dict[str, Any]]:
        nonlocal labelled
        with read(manifest, accounting=line_acc) as reader:
            for n, (rec, done) in enumerate(gt.merge_into_manifest(reader, contents, attribute)):
                if done:
                    labelled += 1
                    matched.add(str(n))
                yield rec
        missing = [k for k in contents if k not in matched]
        if strict and missing:
            raise InputError(
                f"{source_name(manifest)}: {len(missing)} consolidated object(s) match no line "
                f"(object id = 0-based line number), e.g. {missing[0]!r}; nothing written "
                "(--on-error skip writes the others)"
            )

    acc.written += write(merged(), output)
    unmatched = [k for k in contents if k not in matched]
    return labelled, unmatched
