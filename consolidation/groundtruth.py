"""Ground Truth adapter: worker answers in, output-manifest label content out.

Answers come as :class:`manifests.responses.AnswerRow` (from a worker-response folder or a
consolidation-request payload). This module detects the task from the answer content, encodes the
answers for the algorithms, and turns their results into the label value and metadata the service
writes (reference sections 3.3-3.5): label index and ``class-name`` for classification, class ids
with ``class-map`` and ``confidence-map`` for multi-label, ``annotations`` with ``objects`` and
``class-map`` for boxes; confidence rounded to 2 decimals, ``job-name`` as
``labeling-job/<name>``, ``creation-date`` as ``YYYY-MM-DDTHH:MM:SS.ffffff`` (UTC).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np

from manifests.responses import AnswerRow, answer_boxes, answer_label, answer_labels

from ._annotations import Annotations
from ._box_annotations import BoxAnnotations
from ._errors import AnnotationError
from .multilabel import MultiLabelAnnotations

__all__ = [
    "TASKS",
    "LabelContent",
    "box_annotations",
    "box_contents",
    "classification_annotations",
    "classification_contents",
    "creation_date",
    "detect_task",
    "job_name_from_arn",
    "merge_into_manifest",
    "multilabel_annotations",
    "multilabel_contents",
]

_T = TypeVar("_T")
Task = Literal["classification", "multilabel", "boxes"]
TASKS: tuple[str, ...] = ("classification", "multilabel", "boxes")

#: Element names of the built-in text templates; anything else classifies as an image task.
_TEXT_ELEMENTS = ("crowd-classifier", "crowd-classifier-multi-select")


def creation_date(now: _dt.datetime | None = None) -> str:
    """Return a ``creation-date`` value: UTC, ``YYYY-MM-DDTHH:MM:SS.ffffff``, no time zone.

    Examples
    --------
    >>> creation_date(_dt.datetime(2024, 5, 1, 12, 0, tzinfo=_dt.timezone.utc))
    '2024-05-01T12:00:00.000000'
    """
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return now.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def job_name_from_arn(arn: str | None, default: str = "gt-consolidation") -> str:
    """Return ``labeling-job/<name>`` from a labeling-job ARN (the part after the last ``/``).

    Examples
    --------
    >>> job_name_from_arn("arn:aws:sagemaker:eu-west-1:111122223333:labeling-job/pier-birds")
    'labeling-job/pier-birds'
    """
    name = arn.rsplit("/", 1)[-1] if arn else default
    return f"labeling-job/{name or default}"


def _round(conf: float) -> float:
    value = round(float(conf), 2)
    return 0.0 if not math.isfinite(value) else value


def detect_task(content: Any) -> Task:
    """Detect the task type of one decoded answer from its content.

    ``label`` means single-label classification, ``labels`` multi-label, ``boundingBoxes``
    bounding boxes, whatever the crowd element's name.

    Raises
    ------
    AnnotationError
        When the answer holds none of these.

    Examples
    --------
    >>> detect_task({"crowd-image-classifier": {"label": "Owl"}})
    'classification'
    >>> detect_task({"annotatedResult": {"boundingBoxes": [], "inputImageProperties": {}}})
    'boxes'
    """
    if isinstance(content, Mapping):
        for element in content.values():
            if isinstance(element, Mapping):
                if "boundingBoxes" in element:
                    return "boxes"
                if "labels" in element:
                    return "multilabel"
                if "label" in element:
                    return "classification"
    raise AnnotationError(
        "cannot tell the task from the answer: expected an element with 'label', 'labels' or "
        f"'boundingBoxes', got {str(content)[:200]}"
    )


def is_text_task(rows: Sequence[AnswerRow]) -> bool:
    """Return whether the answers come from a built-in text template (``crowd-classifier``)."""
    return any(
        isinstance(r.content, Mapping) and any(k in r.content for k in _TEXT_ELEMENTS)
        for r in rows[:50]
    )


def _classes_or_none(classes: Sequence[str] | None) -> list[str] | None:
    return None if classes is None else [str(c) for c in classes]


def _decoded(
    rows: Iterable[AnswerRow], extract: Callable[[Any], _T]
) -> Iterator[tuple[AnswerRow, _T]]:
    """Pair each answer with ``extract(content)``; a malformed answer names its item and worker."""
    for row in rows:
        try:
            yield row, extract(row.content)
        except (ValueError, KeyError, TypeError) as exc:
            raise AnnotationError(f"item {row.item!r}, worker {row.worker!r}: {exc}") from exc


def classification_annotations(
    rows: Iterable[AnswerRow], classes: Sequence[str] | None = None
) -> Annotations:
    """Encode single-label answers (class names) for the classification estimators.

    Parameters
    ----------
    rows : iterable of AnswerRow
    classes : sequence of str, optional
        The label categories in class-id order (the job's ``labelCategories``); default: the
        sorted labels seen.

    Returns
    -------
    Annotations
        One answer per (item, worker); class index ``k`` is ``classes[k]``, the class id the
        output manifest writes (reference 3.3).

    Raises
    ------
    AnnotationError
        Naming the item and worker of an answer without a label or with an unknown one.

    Examples
    --------
    >>> from manifests.responses import AnswerRow
    >>> rows = [AnswerRow("0", "w1", {"crowd-image-classifier": {"label": "Owl"}}),
    ...         AnswerRow("0", "w2", {"crowd-image-classifier": {"label": "Duck"}}),
    ...         AnswerRow("1", "w1", {"crowd-image-classifier": {"label": "Owl"}})]
    >>> ann = classification_annotations(rows, classes=["Duck", "Owl", "Heron"])
    >>> ann
    Annotations(n_answers=3, n_items=2, n_workers=2, classes=['Duck', 'Owl', 'Heron'])
    >>> ann.labels.tolist(), classification_annotations(rows).classes.tolist()
    ([1, 0, 1], ['Duck', 'Owl'])
    >>> classification_annotations([AnswerRow("2", "w3", {"crowd-image-classifier": {}})])
    Traceback (most recent call last):
    ...
    consolidation._errors.AnnotationError: item '2', worker 'w3': content: no element with 'label'
    """
    triples = [(r.item, r.worker, label) for r, label in _decoded(rows, answer_label)]
    return Annotations.from_records(triples, _classes_or_none(classes))


def multilabel_annotations(
    rows: Iterable[AnswerRow], classes: Sequence[str] | None = None
) -> MultiLabelAnnotations:
    """Encode multi-label answers (lists of class names; an empty list is an answer).

    Parameters
    ----------
    rows : iterable of AnswerRow
        Answers holding a ``labels`` list (null counts as an empty selection).
    classes : sequence of str, optional
        The label categories in class-id order; default: the sorted labels picked.

    Returns
    -------
    MultiLabelAnnotations
        ``votes[a, k]`` tells whether answer ``a`` picked ``classes[k]``.

    Raises
    ------
    AnnotationError
        Naming the item and worker of an answer without a ``labels`` list or with an unknown
        label.

    Examples
    --------
    >>> from manifests.responses import AnswerRow
    >>> element = "crowd-image-classifier-multi-select"
    >>> rows = [AnswerRow("0", "w1", {element: {"labels": ["bicycle", "pedestrian"]}}),
    ...         AnswerRow("0", "w2", {element: {"labels": []}}),
    ...         AnswerRow("1", "w1", {element: {"labels": ["pedestrian"]}})]
    >>> ann = multilabel_annotations(rows, classes=["pedestrian", "car", "bicycle"])
    >>> ann.items.tolist(), ann.votes.astype(int).tolist()
    ([0, 0, 1], [[1, 0, 1], [0, 0, 0], [1, 0, 0]])
    """
    triples = [(r.item, r.worker, labels) for r, labels in _decoded(rows, answer_labels)]
    return MultiLabelAnnotations.from_records(triples, _classes_or_none(classes))


def box_annotations(
    rows: Iterable[AnswerRow], classes: Sequence[str] | None = None
) -> BoxAnnotations:
    """Encode bounding-box answers; a worker who drew nothing still counts as having answered.

    Parameters
    ----------
    rows : iterable of AnswerRow
        Answers holding ``boundingBoxes`` (null or empty: no box) and, optionally,
        ``inputImageProperties`` (the image size, used to clip fused boxes).
    classes : sequence of str, optional
        The label categories in class-id order; default: the sorted labels drawn.

    Returns
    -------
    BoxAnnotations

    Raises
    ------
    AnnotationError
        Naming the item and worker of a malformed answer or box.

    Examples
    --------
    Two workers draw the same heron, a third draws nothing (reference 3.8):

    >>> from manifests.responses import AnswerRow
    >>> image = {"width": 1024, "height": 683}
    >>> heron = {"label": "heron", "left": 212, "top": 88, "width": 302, "height": 270}
    >>> def answer(*boxes):
    ...     return {"boundingBox": {"boundingBoxes": list(boxes) or None,
    ...                             "inputImageProperties": image}}
    >>> rows = [AnswerRow("7", "w1", answer(heron)),
    ...         AnswerRow("7", "w2", answer(dict(heron, left=210, top=90))),
    ...         AnswerRow("7", "w3", answer())]
    >>> ann = box_annotations(rows, classes=["heron", "gull", "duck"])
    >>> ann.n_boxes, ann.workers_per_item.tolist(), ann.image_sizes.tolist()
    (2, [3], [[1024.0, 683.0]])
    """
    answers = [
        (r.item, r.worker, list(ans.boxes), (ans.image_width, ans.image_height))
        for r, ans in _decoded(rows, answer_boxes)
    ]
    return BoxAnnotations.from_answers(answers, _classes_or_none(classes))


@dataclass(frozen=True)
class LabelContent:
    """The label value and metadata for one data object (one output-manifest label attribute)."""

    item: Any
    value: Any
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_content(self, attribute: str) -> dict[str, Any]:
        """``{attribute: value, attribute-metadata: metadata}``."""
        return {attribute: self.value, f"{attribute}-metadata": self.metadata}


def _metadata(kind: str, job_name: str, date: str | None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = dict(extra)
    meta.update(
        {
            "type": f"groundtruth/{kind}",
            "job-name": job_name,
            "human-annotated": "yes",
            "creation-date": date or creation_date(),
        }
    )
    return meta


def classification_contents(
    estimator: Any,
    *,
    job_name: str,
    text: bool = False,
    date: str | None = None,
    answers: Annotations | None = None,
) -> Iterator[LabelContent]:
    """Label content per item of a fitted single-label estimator (reference 3.3).

    The label value is the class index; metadata holds ``class-name`` and ``confidence``. Given
    the ``answers`` the estimator was fitted on, an item answered by one worker gets confidence
    0.0, as Ground Truth writes it (reference 2.2: one worker per object, confidence 0.00).

    Examples
    --------
    >>> from consolidation import MajorityVote
    >>> mv = MajorityVote().fit([(0, "w1", "Owl"), (0, "w2", "Owl"), (1, "w1", "Duck")])
    >>> c = next(classification_contents(mv, job_name="labeling-job/j", date="d"))
    >>> c.value, c.metadata["class-name"], c.metadata["confidence"], c.metadata["type"]
    (1, 'Owl', 1.0, 'groundtruth/image-classification')
    """
    kind = "text-classification" if text else "image-classification"
    classes = estimator.classes_.tolist()
    confidence = np.asarray(estimator.confidence_, dtype=np.float64)
    if answers is not None:
        alone = np.bincount(answers.items, minlength=answers.n_items) == 1
        confidence = np.where(alone, 0.0, confidence)
    for item, code, conf in zip(
        estimator.item_ids_.tolist(),
        np.asarray(estimator.label_codes_).tolist(),
        confidence.tolist(),
        strict=True,
    ):
        yield LabelContent(
            item,
            int(code),
            _metadata(
                kind,
                job_name,
                date,
                **{"class-name": str(classes[code]), "confidence": _round(conf)},
            ),
        )


def multilabel_contents(
    estimator: Any, *, job_name: str, text: bool = False, date: str | None = None
) -> Iterator[LabelContent]:
    """Label content per item of a fitted :class:`MultiLabelConsolidator` (reference 3.4).

    The label value lists the selected class ids (ascending); ``class-map`` and
    ``confidence-map`` cover exactly those ids. An item answered by one worker gets confidence
    0.0 for every label, as Ground Truth writes it (reference 2.2).

    Examples
    --------
    >>> from consolidation import MultiLabelConsolidator
    >>> ml = MultiLabelConsolidator().fit([("i", "w1", ["cat"]), ("i", "w2", ["cat", "dog"])])
    >>> c = next(multilabel_contents(ml, job_name="labeling-job/j", date="d"))
    >>> c.value, c.metadata["class-map"]
    ([0, 1], {'0': 'cat', '1': 'dog'})
    """
    kind = "text-classification-multilabel" if text else "image-classification-multilabel"
    classes = [str(c) for c in estimator.classes_.tolist()]
    alone = np.asarray(estimator.n_answers_) == 1
    for i, item in enumerate(estimator.item_ids_.tolist()):
        ids = np.flatnonzero(estimator.selected_[i]).tolist()
        conf = [0.0 if alone[i] else _round(estimator.confidences_[i, k]) for k in ids]
        yield LabelContent(
            item,
            ids,
            _metadata(
                kind,
                job_name,
                date,
                **{
                    "class-map": {str(k): classes[k] for k in ids},
                    "confidence-map": {str(k): c for k, c in zip(ids, conf, strict=True)},
                },
            ),
        )


def box_contents(
    estimator: Any,
    *,
    job_name: str,
    image_sizes: Mapping[Any, tuple[float, float]] | None = None,
    date: str | None = None,
) -> Iterator[LabelContent]:
    """Label content per item of a fitted :class:`BoxConsolidator` (reference 3.5).

    Items without boxes get ``annotations: []``, ``objects: []`` and ``class-map: {}``. Class
    ids are positions in the estimator's classes (the job's label categories when given).
    ``image_size`` is written when the size is known (depth 3, as the service writes).

    Examples
    --------
    Image ``7``: both workers drew the heron, one drew a duck; image ``8``: nothing drawn.

    >>> from consolidation import BoxConsolidator
    >>> rows = [("7", "w1", "heron", 212, 88, 302, 270), ("7", "w2", "heron", 210, 90, 300, 268),
    ...         ("7", "w2", "duck", 640, 410, 55, 40)]
    >>> model = BoxConsolidator(backend="numpy").fit(rows, answered=[("8", "w1")],
    ...                                              classes=["heron", "gull", "duck"])
    >>> seven, eight = box_contents(model, job_name="labeling-job/birds",
    ...                             image_sizes={"7": (1024, 683)},
    ...                             date="2024-03-02T11:42:05.730112")
    >>> seven.value
    {'image_size': [{'width': 1024, 'height': 683, 'depth': 3}],
     'annotations': [{'class_id': 0, 'left': 211.0, 'top': 89.0, 'width': 301.0, 'height': 269.0},
                     {'class_id': 2, 'left': 640.0, 'top': 410.0, 'width': 55.0, 'height': 40.0}]}
    >>> seven.metadata["objects"], seven.metadata["class-map"]
    ([{'confidence': 0.99}, {'confidence': 0.5}], {'0': 'heron', '2': 'duck'})
    >>> eight.value, eight.metadata["objects"], eight.metadata["class-map"]
    ({'annotations': []}, [], {})
    """
    classes = [str(c) for c in estimator.classes_.tolist()]
    out = estimator.boxes_
    offsets = np.append(estimator.item_offsets_, out.size)
    sizes = image_sizes or {}
    for i, item in enumerate(estimator.item_ids_.tolist()):
        rows = out[offsets[i] : offsets[i + 1]]
        annotations = [
            {
                "class_id": int(r["label"]),
                "left": float(r["left"]),
                "top": float(r["top"]),
                "width": float(r["width"]),
                "height": float(r["height"]),
            }
            for r in rows
        ]
        value: dict[str, Any] = {}
        size = sizes.get(item)
        if size is not None and all(v is not None and math.isfinite(v) for v in size):
            value["image_size"] = [{"width": int(size[0]), "height": int(size[1]), "depth": 3}]
        value["annotations"] = annotations
        ids = sorted({int(r["label"]) for r in rows})
        yield LabelContent(
            item,
            value,
            _metadata(
                "object-detection",
                job_name,
                date,
                objects=[{"confidence": _round(r["confidence"])} for r in rows],
                **{"class-map": {str(k): classes[k] for k in ids}},
            ),
        )


def merge_into_manifest(
    records: Iterable[dict[str, Any]],
    contents: Mapping[str, LabelContent],
    attribute: str,
    *,
    key: str | None = None,
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Add consolidated labels to input-manifest records, keeping every other key.

    Parameters
    ----------
    records : iterable of dict
        Input-manifest lines, in order.
    contents : mapping of str -> LabelContent
        Keyed by data object id (``datasetObjectId``).
    attribute : str
        The label attribute name.
    key : str, optional
        Record field holding the object id; by default the id is the 0-based line number, as
        for Ground Truth's manifest input.

    Yields
    ------
    (record, labelled) : (dict, bool)
        The record (with ``attribute`` and ``attribute-metadata`` when it was labelled) and
        whether it was.

    Examples
    --------
    >>> c = {"0": LabelContent("0", 1, {"class-name": "Owl"})}
    >>> [r for r, _ in merge_into_manifest([{"source-ref": "s3://b/a.jpg"}], c, "birds")]
    [{'source-ref': 's3://b/a.jpg', 'birds': 1, 'birds-metadata': {'class-name': 'Owl'}}]
    """
    for lineno, record in enumerate(records):
        object_id = str(record.get(key) if key is not None else lineno)
        content = contents.get(object_id)
        if content is None:
            yield record, False
            continue
        merged = dict(record)
        merged.pop(attribute, None)
        merged.pop(f"{attribute}-metadata", None)
        merged.update(content.as_content(attribute))
        yield merged, True
