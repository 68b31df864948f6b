"""Worker responses and consolidation-request payloads as plain answer rows.

Two sources hold the individual answers of a Ground Truth job (reference sections 3.8 and 4.2):

* the job's worker-response folder,
  ``annotations/worker-response/iteration-<n>/<datasetObjectId>/<YYYY-MM-DD_HH:MM:SS>.json``,
  each file ``{"answers": [{"workerId", "answerContent", "submissionTime", ...}, ...]}``;
* a consolidation-request payload, the JSON array sent to a post-annotation Lambda,
  ``[{"datasetObjectId", "dataObject", "annotations": [{"workerId", "annotationData":
  {"content": "<JSON string>"} | {"s3Uri": ...}}]}]``.

:func:`read_worker_responses` and :func:`read_payload` turn either into :class:`AnswerRow`
(item, worker, decoded answer content, iteration, submission time). The content is keyed by
the crowd element's name (``crowd-image-classifier``, ``annotatedResult``, ...);
:func:`answer_label`, :func:`answer_labels` and :func:`answer_boxes` extract the classification
label, the multi-label list and the boxes whatever that name is.

Problems (unreadable files, missing worker ids, undecodable content) go through an
:class:`~manifests.io.Accounting`: each answer counts as one ``read``; a bad answer or file is
rejected with the file and the JSON path of the field.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlparse

from manifests._values import as_number
from manifests.errors import FieldError, ManifestError
from manifests.io import Accounting, _finite_float

__all__ = [
    "AnswerBox",
    "AnswerRow",
    "BoxAnswer",
    "answer_boxes",
    "answer_label",
    "answer_labels",
    "decode_content",
    "find_element",
    "load_json_uri",
    "read_payload",
    "read_worker_responses",
    "worker_response_iterations",
]

_ITERATION = re.compile(r"iteration-(\d+)$")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str | bytes) -> Any:
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


@dataclass(frozen=True)
class AnswerRow:
    """One worker's answer for one data object.

    Attributes
    ----------
    item : str
        The data object id (``datasetObjectId``; the folder name in a worker-response tree; the
        0-based input line number for manifest input).
    worker : str
        The worker id (opaque string such as ``public.us-east-1.<26 chars>``).
    content : Any
        The decoded answer: ``answerContent`` of a worker-response file, or the decoded
        ``annotationData`` of a payload, e.g. ``{"crowd-image-classifier": {"label": "Owl"}}``.
    iteration : int or None
        Batch number (``iteration-<n>``) when known.
    submission_time : str or None
        ``submissionTime`` when known.
    source : str or None
        File the answer came from.
    """

    item: str
    worker: str
    content: Any
    iteration: int | None = None
    submission_time: str | None = None
    source: str | None = None

    def label(self) -> str:
        """Classification label (:func:`answer_label`)."""
        return answer_label(self.content)

    def labels(self) -> list[str]:
        """Multi-label selection (:func:`answer_labels`)."""
        return answer_labels(self.content)

    def boxes(self) -> BoxAnswer:
        """Boxes and image size (:func:`answer_boxes`)."""
        return answer_boxes(self.content)


class AnswerBox(NamedTuple):
    """One box drawn by a worker (pixels, top-left origin)."""

    label: str
    left: float
    top: float
    width: float
    height: float


class BoxAnswer(NamedTuple):
    """A worker's bounding-box answer: the boxes (possibly none) and the image size."""

    boxes: tuple[AnswerBox, ...]
    image_width: int | None
    image_height: int | None


# -------------------------------------------------------------------------------------------------
# answer content
# -------------------------------------------------------------------------------------------------


def find_element(content: Any, *keys: str) -> tuple[str, dict[str, Any]]:
    """Return the crowd element of an answer that holds one of ``keys``, and its name.

    The answer is ``{"<element name>": {...}}``; the name depends on the task template. The
    content itself is used when it already holds a key (name ``""``).

    Examples
    --------
    >>> find_element({"annotatedResult": {"boundingBoxes": []}}, "boundingBoxes")
    ('annotatedResult', {'boundingBoxes': []})
    """
    if type(content) is not dict:
        raise FieldError("content", f"expected an object, got {type(content).__name__}")
    if any(key in content for key in keys):
        return "", content
    found = [
        (name, v) for name, v in content.items() if type(v) is dict and any(k in v for k in keys)
    ]
    if len(found) == 1:
        return found[0]
    wanted = " or ".join(repr(k) for k in keys)
    if not found:
        raise FieldError("content", f"no element with {wanted}")
    raise FieldError("content", f"several elements with {wanted}: {', '.join(n for n, _ in found)}")


def _field(name: str, key: str) -> str:
    return f"content.{name}.{key}" if name else f"content.{key}"


def answer_label(content: Any) -> str:
    """Return the ``label`` of a classification answer, whatever the element name.

    Examples
    --------
    >>> answer_label({"crowd-image-classifier": {"label": "Owl"}})
    'Owl'
    """
    name, element = find_element(content, "label")
    label = element["label"]
    if type(label) is not str:
        raise FieldError(_field(name, "label"), f"expected a string, got {type(label).__name__}")
    return label


def answer_labels(content: Any) -> list[str]:
    """Return the ``labels`` list of a multi-label answer, whatever the element name.

    Examples
    --------
    >>> answer_labels({"crowd-image-classifier-multi-select":
    ...                {"labels": ["bicycle", "pedestrian"]}})
    ['bicycle', 'pedestrian']
    """
    name, element = find_element(content, "labels")
    labels = element["labels"]
    if labels is None:
        return []
    if type(labels) is not list or not all(type(x) is str for x in labels):
        raise FieldError(_field(name, "labels"), "expected a list of strings")
    return list(labels)


def answer_boxes(content: Any) -> BoxAnswer:
    """Boxes (``boundingBoxes``, null = none) and ``inputImageProperties`` of a box answer.

    Examples
    --------
    >>> answer_boxes({"annotatedResult": {"boundingBoxes": [
    ...     {"height": 128, "label": "Red", "left": 116, "top": 283, "width": 137}],
    ...     "inputImageProperties": {"height": 432, "width": 640}}})
    ... # doctest: +NORMALIZE_WHITESPACE
    BoxAnswer(boxes=(AnswerBox(label='Red', left=116, top=283, width=137, height=128),),
              image_width=640, image_height=432)
    """
    name, element = find_element(content, "boundingBoxes", "inputImageProperties")
    raw = element.get("boundingBoxes")
    field = _field(name, "boundingBoxes")
    if raw is None:
        raw = []
    if type(raw) is not list:
        raise FieldError(field, f"expected a list, got {type(raw).__name__}")
    boxes = []
    for k, box in enumerate(raw):
        if type(box) is not dict:
            raise FieldError(f"{field}[{k}]", "expected an object")
        label = box.get("label")
        if type(label) is not str:
            raise FieldError(f"{field}[{k}].label", "expected a string")
        coords = [
            as_number(box.get(c), f"{field}[{k}].{c}") for c in ("left", "top", "width", "height")
        ]
        boxes.append(AnswerBox(label, *coords))
    props = element.get("inputImageProperties")
    width = height = None
    if props is not None:
        pfield = _field(name, "inputImageProperties")
        if type(props) is not dict:
            raise FieldError(pfield, "expected an object")
        width, height = props.get("width"), props.get("height")
        for key, dim in (("width", width), ("height", height)):
            if dim is not None and (type(dim) is not int or dim <= 0):
                raise FieldError(f"{pfield}.{key}", f"expected a positive integer, got {dim!r}")
    return BoxAnswer(tuple(boxes), width, height)


def decode_content(value: Any) -> Any:
    """Decode ``annotationData.content``: a JSON string (decoded twice if double-encoded).

    Examples
    --------
    >>> decode_content('{"c": {"label": "a"}}')
    {'c': {'label': 'a'}}
    >>> decode_content(json.dumps('{"c": {"label": "a"}}'))
    {'c': {'label': 'a'}}
    """
    for _ in range(3):
        if type(value) is not str:
            return value
        value = _loads(value)
    if type(value) is str:
        raise ValueError("content is still a string after three rounds of JSON decoding")
    return value


def load_json_uri(uri: str | os.PathLike[str]) -> Any:
    """Load a JSON document from a local path, a ``file://`` URI or an ``s3://`` URI.

    Local files may be gzip-compressed (detected from their first bytes).

    ``s3://`` needs boto3, imported only then (it is not a dependency of this package). Any
    failure to fetch the object (boto3 missing, no credentials, no such key, no network) raises
    :class:`~manifests.errors.ManifestError` naming the URI, with the boto3/botocore exception
    chained; botocore is never imported here, so its exception types are not named.

    Examples
    --------
    A worker-response file (reference 3.8), gzip-compressed, read by path and by ``file://`` URI:

    >>> import gzip, json, os, pathlib, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "worker response.json.gz")
    >>> answer = {"workerId": "private.us-west-2.7f3c0d9e1a2b4c5d",
    ...           "answerContent": {"crowd-image-classifier": {"label": "Parrot"}}}
    >>> with gzip.open(path, "wt", encoding="utf-8") as fh:
    ...     json.dump({"answers": [answer]}, fh)
    >>> load_json_uri(path)["answers"][0]["answerContent"]
    {'crowd-image-classifier': {'label': 'Parrot'}}
    >>> uri = pathlib.Path(path).as_uri()
    >>> uri.endswith("/worker%20response.json.gz"), load_json_uri(uri) == {"answers": [answer]}
    (True, True)
    >>> folder.cleanup()
    """
    text = os.fspath(uri)
    if text.startswith("s3://"):
        parsed = urlparse(text)
        try:
            import boto3
        except ImportError as exc:
            raise ManifestError(f"{text}: cannot read: boto3 is not installed") from exc
        try:
            client = boto3.client("s3")
            response = client.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
            data = response["Body"].read()
        except Exception as exc:  # botocore's errors (and a broken boto3): one clean message
            raise ManifestError(f"{text}: cannot read: {type(exc).__name__}: {exc}") from exc
        return _loads(data)
    if text.startswith("file://"):
        text = unquote(urlparse(text).path)
    with open(text, "rb") as fh:
        data = fh.read()
    if data[:2] == b"\x1f\x8b":  # gzip magic: .json.gz payloads and answers
        data = gzip.decompress(data)
    return _loads(data)


def _iteration_of(path: str) -> int | None:
    for part in reversed(Path(path).parts):
        match = _ITERATION.match(part)
        if match:
            return int(match.group(1))
    return None


# -------------------------------------------------------------------------------------------------
# worker-response folders
# -------------------------------------------------------------------------------------------------


def _natural(name: str) -> tuple[int, int | str]:
    return (0, int(name)) if name.isdigit() else (1, name)


def _iteration_dirs(folder: Path) -> list[tuple[int, Path]]:
    match = _ITERATION.match(folder.name)
    if match:
        return [(int(match.group(1)), folder)]
    for base in (folder, folder / "worker-response", folder / "annotations" / "worker-response"):
        if base.is_dir():
            found = [
                (int(m.group(1)), p)
                for p in base.iterdir()
                if p.is_dir() and (m := _ITERATION.match(p.name)) is not None
            ]
            if found:
                return sorted(found)
    raise ManifestError(f"no iteration-<n> folders under {folder}")


def worker_response_iterations(folder: str | os.PathLike[str]) -> list[int]:
    """Return the iteration numbers of a worker-response folder, in increasing order.

    ``folder`` is any form :func:`read_worker_responses` takes.

    Raises :class:`~manifests.errors.ManifestError` when there is no ``iteration-<n>`` folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for n in (2, 1, 10):
    ...     (root / "worker-response" / f"iteration-{n}").mkdir(parents=True)
    >>> worker_response_iterations(root)
    [1, 2, 10]
    """
    return [number for number, _ in _iteration_dirs(Path(folder))]


def read_worker_responses(
    folder: str | os.PathLike[str],
    *,
    iteration: int | None = None,
    accounting: Accounting | None = None,
) -> Iterator[AnswerRow]:
    """Answer rows of a worker-response folder.

    Parameters
    ----------
    folder : path
        The job output folder, its ``annotations/worker-response`` folder, a ``worker-response``
        folder or a single ``iteration-<n>`` folder.
    iteration : int, optional
        Read only this iteration (nothing when the folder has no such iteration: see
        :func:`worker_response_iterations`).
    accounting : Accounting, optional
        Counts answers read and rejected (a file that is not valid JSON counts as one rejected
        answer).

    Yields
    ------
    AnswerRow
        By iteration, then item (numeric ids in numeric order), then file name (time), then
        answer order in the file. The item is the folder name (``datasetObjectId``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> item = root / "worker-response" / "iteration-1" / "7"
    >>> item.mkdir(parents=True)
    >>> _ = (item / "2019-04-18_16:12:00.json").write_text(
    ...     '{"answers": [{"answerContent": {"crowd-image-classifier": {"label": "Owl"}},'
    ...     ' "submissionTime": "2019-04-18T16:10:53Z", "workerId": "public.us-east-1.A"}]}')
    >>> [(r.item, r.worker, r.label(), r.iteration) for r in read_worker_responses(root)]
    [('7', 'public.us-east-1.A', 'Owl', 1)]
    """
    acc = accounting if accounting is not None else Accounting()
    for number, it_dir in _iteration_dirs(Path(folder)):
        if iteration is not None and number != iteration:
            continue
        items = sorted((p for p in it_dir.iterdir() if p.is_dir()), key=lambda p: _natural(p.name))
        for item_dir in items:
            for path in sorted(
                p for p in item_dir.iterdir() if p.suffix == ".json" and p.is_file()
            ):
                yield from _file_rows(path, item_dir.name, number, acc)


def _file_rows(path: Path, item: str, iteration: int, acc: Accounting) -> Iterator[AnswerRow]:
    name = str(path)
    try:
        doc = _loads(path.read_bytes())
        answers = doc.get("answers") if type(doc) is dict else None
        if type(answers) is not list:
            raise FieldError("answers", "expected a list of answers")
    except (ValueError, FieldError, OSError) as exc:
        acc.read += 1
        reason = exc.reason if isinstance(exc, FieldError) else f"unreadable: {exc}"
        acc.reject(name, 0, getattr(exc, "field", "<file>"), reason, cause=exc)
        return
    for k, answer in enumerate(answers):
        acc.read += 1
        field = f"answers[{k}]"
        if type(answer) is not dict:
            acc.reject(name, 0, field, "expected an object")
            continue
        worker = answer.get("workerId")
        if type(worker) is not str or not worker:
            acc.reject(name, 0, f"{field}.workerId", "missing or not a string")
            continue
        if "answerContent" not in answer:
            acc.reject(name, 0, f"{field}.answerContent", "missing")
            continue
        time = answer.get("submissionTime")
        yield AnswerRow(
            item,
            worker,
            answer["answerContent"],
            iteration,
            time if type(time) is str else None,
            name,
        )


# -------------------------------------------------------------------------------------------------
# consolidation-request payloads
# -------------------------------------------------------------------------------------------------


def read_payload(
    source: str | os.PathLike[str] | list[Any] | Mapping[str, Any],
    *,
    accounting: Accounting | None = None,
) -> Iterator[AnswerRow]:
    r"""Answer rows of a consolidation-request payload (reference section 4.2).

    Parameters
    ----------
    source : path, URI, list or event
        A payload file (local path, ``file://`` or ``s3://`` URI, ``"-"`` for stdin), the payload
        list itself, or a post-annotation event whose ``payload`` holds ``s3Uri`` (or the list).
    accounting : Accounting, optional
        Counts annotations read and rejected.

    Yields
    ------
    AnswerRow
        In payload order. ``content`` is ``annotationData.content`` decoded from its JSON string
        (twice when double-encoded), or the JSON document ``annotationData.s3Uri`` points to.
        ``iteration`` comes from an ``iteration-<n>`` folder in the payload path, if any.

    Examples
    --------
    >>> payload = [{"datasetObjectId": "14", "dataObject": {"s3Uri": "s3://b/14.jpg"},
    ...   "annotations": [{"workerId": "private.w1",
    ...     "annotationData": {"content": '{"crowd-image-classifier":{"label":"heron"}}'}}]}]
    >>> [(r.item, r.worker, r.label()) for r in read_payload(payload)]
    [('14', 'private.w1', 'heron')]
    """
    acc = accounting if accounting is not None else Accounting()
    name = "<payload>"
    iteration = None
    doc: Any = source
    if isinstance(source, Mapping):
        payload = source.get("payload")
        if isinstance(payload, Mapping) and "s3Uri" in payload:
            doc = payload["s3Uri"]
        elif isinstance(payload, list):
            doc = payload
        else:
            raise ManifestError("the event has no payload.s3Uri or inline payload list")
    if isinstance(doc, (str, os.PathLike)):
        name = os.fspath(doc)
        iteration = _iteration_of(name)
        try:
            doc = _loads(sys.stdin.buffer.read()) if name == "-" else load_json_uri(name)
        except ValueError as exc:
            acc.read += 1
            acc.reject(name, 0, "<file>", f"not valid JSON: {exc}", cause=exc)
            return
    if type(doc) is not list:
        acc.read += 1
        acc.reject(name, 0, "<file>", "a payload is a JSON array of data objects")
        return
    for i, element in enumerate(doc):
        field = f"[{i}]"
        if type(element) is not dict:
            acc.read += 1
            acc.reject(name, 0, field, "expected an object")
            continue
        raw_item = element.get("datasetObjectId")
        annotations = element.get("annotations")
        if type(raw_item) is int:
            raw_item = str(raw_item)
        if not isinstance(raw_item, str) or not isinstance(annotations, list):
            acc.read += 1
            if not isinstance(raw_item, str):
                acc.reject(name, 0, f"{field}.datasetObjectId", "missing or not a string")
            else:
                acc.reject(name, 0, f"{field}.annotations", "expected a list")
            continue
        item: str = raw_item
        for j, ann in enumerate(annotations):
            acc.read += 1
            afield = f"{field}.annotations[{j}]"
            row = _payload_row(ann, afield, item, iteration, name, acc)
            if row is not None:
                yield row


def _payload_row(
    ann: Any, field: str, item: str, iteration: int | None, name: str, acc: Accounting
) -> AnswerRow | None:
    if type(ann) is not dict:
        acc.reject(name, 0, field, "expected an object")
        return None
    worker = ann.get("workerId")
    if type(worker) is not str or not worker:
        acc.reject(name, 0, f"{field}.workerId", "missing or not a string")
        return None
    data = ann.get("annotationData")
    if type(data) is not dict:
        acc.reject(name, 0, f"{field}.annotationData", "missing or not an object")
        return None
    try:
        if "content" in data:
            content = decode_content(data["content"])
        elif "s3Uri" in data:
            content = decode_content(load_json_uri(str(data["s3Uri"])))
        else:
            acc.reject(name, 0, f"{field}.annotationData", "has neither 'content' nor 's3Uri'")
            return None
    except (ValueError, OSError, ManifestError) as exc:
        acc.reject(
            name, 0, f"{field}.annotationData", f"cannot decode the answer: {exc}", cause=exc
        )
        return None
    return AnswerRow(item, worker, content, iteration, None, name)
