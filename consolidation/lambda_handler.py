"""Post-annotation (consolidation) Lambda for Ground Truth custom workflows, testable offline.

``handler(event, context)`` implements the contract of reference section 4: it reads the payload
(``payload.s3Uri`` as a local path, ``file://`` or ``s3://`` URI, or an inline list), detects the
task from the answers, consolidates the whole batch, and returns one element per data object::

    [{"datasetObjectId": "14",
      "consolidatedAnnotation": {"content": {"<labelAttributeName>": ...,
                                             "<labelAttributeName>-metadata": {...}}}}]

A data object whose answers cannot be used (undecodable content, a missing worker id, a label
outside ``labelCategories``) is logged with its ``datasetObjectId`` and the reason, and left out:
it never fails the batch.

Settings come from the environment:

``CONSOLIDATION_TASK``
    ``auto`` (default: detected from the answer content), ``classification``, ``multilabel`` or
    ``boxes``.
``CONSOLIDATION_METHOD``
    Single-label method for classification and multi-label: ``default``, ``mds``,
    ``mds-service``, ``ds`` or ``mv`` (default ``default``).
``CONSOLIDATION_OUTPUT``
    ``builtin`` (default): the label value plus metadata as the built-in task types write them;
    ``custom``: only a self-describing label value (Ground Truth adds the metadata of a custom
    workflow itself).
``CONSOLIDATION_STATE``
    A path or ``s3://`` URI of a :class:`~consolidation.WorkerState` (classification only): read
    before the batch when it exists (warm start), written after it with this batch's evidence.

Packaging: numba is imported on the first kernel call only; set ``NUMBA_CACHE_DIR=/tmp`` so its
compiled kernels are cached in the Lambda's writable directory. Without numba the numpy backend
gives the same results.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from manifests.io import Accounting
from manifests.responses import (
    AnswerRow,
    answer_boxes,
    answer_label,
    answer_labels,
    load_json_uri,
    read_payload,
)

from . import groundtruth as gt
from ._box_geometry import box_problem, image_size_problem
from ._errors import AnnotationError, InvalidParameterError
from ._methods import METHODS, make_estimator
from .worker_state import WorkerState

__all__ = ["Settings", "handler"]

log = logging.getLogger(__name__)

_OUTPUTS = ("builtin", "custom")


class Settings:
    """The handler's settings, from the environment (see the module docstring).

    Parameters
    ----------
    task : {"auto", "classification", "multilabel", "boxes"}, default "auto"
        ``CONSOLIDATION_TASK``; ``auto`` detects the task from the answer content.
    method : str, default "default"
        ``CONSOLIDATION_METHOD``: ``default``, ``mds``, ``mds-service``, ``ds`` or ``mv``.
    output : {"builtin", "custom"}, default "builtin"
        ``CONSOLIDATION_OUTPUT``.
    state : str, optional
        ``CONSOLIDATION_STATE``: path or ``s3://`` URI of the worker state (an empty string
        means none).

    Raises
    ------
    InvalidParameterError
        A :class:`ValueError` naming the environment variable whose value is not allowed.

    Examples
    --------
    >>> settings = Settings(method="mv")
    >>> settings.task, settings.method, settings.output, settings.state
    ('auto', 'mv', 'builtin', None)

    :meth:`from_env` reads the four ``CONSOLIDATION_*`` variables from ``os.environ``, or from
    any mapping given; a missing or empty variable keeps its default:

    >>> env = {"CONSOLIDATION_METHOD": "ds", "CONSOLIDATION_OUTPUT": "",
    ...        "CONSOLIDATION_STATE": "s3://my-bucket/consolidation/workers.json"}
    >>> vars(Settings.from_env(env))
    {'task': 'auto', 'method': 'ds', 'output': 'builtin',
     'state': 's3://my-bucket/consolidation/workers.json'}
    >>> Settings(method="em")
    Traceback (most recent call last):
    ...
    consolidation._errors.InvalidParameterError: ... 'CONSOLIDATION_METHOD': 'em'; expected ...
    """

    def __init__(
        self,
        task: str = "auto",
        method: str = "default",
        output: str = "builtin",
        state: str | None = None,
    ) -> None:
        if task not in ("auto", *gt.TASKS):
            raise InvalidParameterError(
                "CONSOLIDATION_TASK", task, "auto or " + ", ".join(gt.TASKS)
            )
        if method not in METHODS:
            raise InvalidParameterError("CONSOLIDATION_METHOD", method, ", ".join(METHODS))
        if output not in _OUTPUTS:
            raise InvalidParameterError("CONSOLIDATION_OUTPUT", output, "builtin or custom")
        self.task, self.method, self.output, self.state = task, method, output, state or None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``CONSOLIDATION_*`` variables (``os.environ`` by default)."""
        env = os.environ if env is None else env
        return cls(
            env.get("CONSOLIDATION_TASK", "auto") or "auto",
            env.get("CONSOLIDATION_METHOD", "default") or "default",
            env.get("CONSOLIDATION_OUTPUT", "builtin") or "builtin",
            env.get("CONSOLIDATION_STATE"),
        )


# ------------------------------------------------------------------------------ state I/O
class _UnreadableStateError(Exception):
    """A worker state exists but cannot be used: the batch runs cold and the state is kept."""


def _missing_on_s3(exc: BaseException | None) -> bool:
    """Tell whether an S3 read failed because the object does not exist (and only then)."""
    while exc is not None:
        error = getattr(exc, "response", None)
        if isinstance(error, Mapping):
            code = str(error.get("Error", {}).get("Code", ""))
            return code in ("NoSuchKey", "404", "NotFound")
        exc = exc.__cause__
    return False


def _read_state(uri: str) -> WorkerState | None:
    """Read the state at ``uri``; None when there is none yet (a first batch).

    Raises :class:`_UnreadableStateError` when a state exists but cannot be read or parsed (a
    throttled or forbidden S3 read, a truncated file): that is not a first batch, and it must not
    be overwritten by one.
    """
    try:
        if uri.startswith("s3://"):
            try:
                data = load_json_uri(uri)
            except Exception as exc:
                if _missing_on_s3(exc):
                    log.info("no worker state at %s yet", uri)
                    return None
                raise
            return WorkerState.from_dict(data)
        path = urlparse(uri).path if uri.startswith("file://") else uri
        if not os.path.exists(path):
            log.info("no worker state at %s yet", uri)
            return None
        return WorkerState.load(path)
    except Exception as exc:
        raise _UnreadableStateError(f"{type(exc).__name__}: {exc}") from exc


def _write_state(state: WorkerState, uri: str) -> None:
    """Write the state; a failure is logged, never raised (the batch's labels are done)."""
    try:
        if uri.startswith("s3://"):
            import boto3  # provided by the Lambda runtime; never a dependency

            parsed = urlparse(uri)
            body = json.dumps(state.to_dict(), ensure_ascii=False, allow_nan=False).encode()
            client = boto3.client("s3")
            client.put_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"), Body=body)
            return
        state.save(urlparse(uri).path if uri.startswith("file://") else uri)
    except Exception as exc:
        log.error("worker state not saved to %s: %s: %s", uri, type(exc).__name__, exc)


# ------------------------------------------------------------------------------ payload
def _load_payload(event: Mapping[str, Any]) -> list[Any]:
    payload = event.get("payload")
    if isinstance(payload, list):
        return payload
    if isinstance(payload, Mapping) and isinstance(payload.get("s3Uri"), str):
        doc = load_json_uri(payload["s3Uri"])
        if not isinstance(doc, list):
            raise AnnotationError(f"{payload['s3Uri']}: a payload is a JSON array of data objects")
        return doc
    raise AnnotationError("the event has neither payload.s3Uri nor an inline payload list")


def _categories(event: Mapping[str, Any]) -> list[str] | None:
    cats = event.get("labelCategories")
    if not cats:
        return None
    # The docs allow label names or objects from the label category file.
    return [str(c["label"]) if isinstance(c, Mapping) else str(c) for c in cats]


def _check_row(row: AnswerRow, task: str, categories: Sequence[str] | None) -> None:
    """Raise ValueError/KeyError/TypeError when an answer cannot be used for ``task``."""
    if task == "classification":
        labels = [answer_label(row.content)]
    elif task == "multilabel":
        labels = answer_labels(row.content)
    else:
        answer = answer_boxes(row.content)
        labels = [b.label for b in answer.boxes]
        for k, b in enumerate(answer.boxes):
            problem = box_problem(b.left, b.top, b.width, b.height)
            if problem is not None:
                raise ValueError(f"boundingBoxes[{k}].{problem[0]}: {problem[1]}")
        if answer.image_width is not None or answer.image_height is not None:
            problem = image_size_problem(answer.image_width, answer.image_height)
            if problem is not None:
                raise ValueError(f"inputImageProperties.{problem[0]}: {problem[1]}")
    if categories is not None:
        unknown = [lab for lab in labels if lab not in categories]
        if unknown:
            raise ValueError(f"label {unknown[0]!r} is not one of labelCategories")


def _batch_task(rows: Sequence[AnswerRow]) -> gt.Task | None:
    """Return the task most answers show (the first shown on a tie); None when none shows one.

    One malformed or odd answer must not decide the task of the batch: the answers of another
    task are then rejected with their data objects, like any unusable answer.
    """
    counts: dict[gt.Task, int] = {}
    for row in rows:
        try:
            shown = gt.detect_task(row.content)
        except AnnotationError:
            continue
        counts[shown] = counts.get(shown, 0) + 1
    if not counts:
        return None
    best: gt.Task = max(counts, key=counts.__getitem__)
    return best


def _last_answers(rows: list[AnswerRow]) -> list[AnswerRow]:
    """Keep one answer per worker and object, the last (as every task does), and say so."""
    last = {(r.item, r.worker): r for r in rows}
    if len(last) < len(rows):
        log.warning(
            "%d repeated answer(s) of a worker to an object: the last one is kept",
            len(rows) - len(last),
        )
        keep = {id(r) for r in last.values()}
        rows = [r for r in rows if id(r) in keep]
    return rows


def _check_same_size(row: AnswerRow, sizes: dict[str, tuple[Any, Any]]) -> None:
    """Raise ValueError when two workers give one image different sizes."""
    answer = answer_boxes(row.content)
    size = (answer.image_width, answer.image_height)
    if size == (None, None):
        return
    first = sizes.setdefault(row.item, size)
    if first != size:
        raise ValueError(f"image size {size} differs from another worker's {first}")


def _index_of(field: str) -> int | None:
    # Rejection fields look like "[3].annotations[1].workerId".
    if field.startswith("[") and "]" in field:
        try:
            return int(field[1 : field.index("]")])
        except ValueError:
            return None
    return None


# ------------------------------------------------------------------------------ handler
def handler(
    event: Mapping[str, Any],
    context: Any = None,
    *,
    load_payload: Callable[[Mapping[str, Any]], list[Any]] | None = None,
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """Consolidate one batch of a labeling job (the post-annotation Lambda entry point).

    Parameters
    ----------
    event : mapping
        The post-annotation request: ``labelAttributeName``, ``payload`` (``s3Uri`` or a list),
        optional ``labelCategories`` and ``labelingJobArn``.
    context : object, optional
        The Lambda context (unused).
    load_payload : callable, optional
        Replaces reading ``payload`` (for tests, or other storage).
    settings : Settings, optional
        Default: :meth:`Settings.from_env`.

    Returns
    -------
    list of dict
        One element per consolidated data object, in payload order.

    Examples
    --------
    >>> event = {"labelAttributeName": "birds", "labelCategories": ["Owl", "Duck"],
    ...   "labelingJobArn": "arn:aws:sagemaker:us-east-1:1:labeling-job/birds",
    ...   "payload": [{"datasetObjectId": "0", "annotations": [
    ...     {"workerId": "w1", "annotationData": {"content": '{"c": {"label": "Owl"}}'}},
    ...     {"workerId": "w2", "annotationData": {"content": '{"c": {"label": "Owl"}}'}}]}]}
    >>> out = handler(event, settings=Settings(method="mv"))
    >>> out[0]["consolidatedAnnotation"]["content"]["birds"]
    0
    """
    settings = settings or Settings.from_env()
    attribute = event.get("labelAttributeName")
    if not isinstance(attribute, str) or not attribute:
        raise AnnotationError("the event has no labelAttributeName")
    categories = _categories(event)
    job_name = gt.job_name_from_arn(event.get("labelingJobArn"))
    payload = (load_payload or _load_payload)(event)

    # Decode every answer; any rejected answer disqualifies its whole data object.
    acc = Accounting(on_error="collect", max_rejections=10**9)
    rows = list(read_payload(payload, accounting=acc))
    ids = [
        str(e["datasetObjectId"])
        if isinstance(e, Mapping) and e.get("datasetObjectId") is not None
        else f"payload[{i}] (no datasetObjectId)"
        for i, e in enumerate(payload)
    ]
    # The response repeats each id as the request gave it (an integer stays an integer).
    given = {
        str(e["datasetObjectId"]): e["datasetObjectId"]
        for e in payload
        if isinstance(e, Mapping) and e.get("datasetObjectId") is not None
    }
    bad: dict[str, str] = {}
    for rej in acc.rejections:
        i = _index_of(rej.field)
        bad.setdefault(ids[i] if i is not None else "?", f"{rej.field}: {rej.reason}")
    rows = [r for r in rows if r.item not in bad]
    task = settings.task if settings.task != "auto" else _batch_task(rows)
    good: list[AnswerRow] = []
    sizes: dict[str, tuple[Any, Any]] = {}
    for row in rows:
        if row.item in bad:
            continue
        try:
            if task is None:
                raise ValueError("no answer of the batch shows its task (label, labels or boxes)")
            _check_row(row, task, categories)
            if task == "boxes":
                _check_same_size(row, sizes)
        except (ValueError, KeyError, TypeError, AnnotationError) as exc:
            bad[row.item] = f"worker {row.worker}: {exc}"
        else:
            good.append(row)
    good = _last_answers([r for r in good if r.item not in bad])
    answered = {r.item for r in good}
    for object_id in ids:
        if object_id not in answered and object_id not in bad:
            bad[object_id] = "no answers"
    for object_id, reason in bad.items():
        log.warning("datasetObjectId %s skipped: %s", object_id, reason)
    if not good or task is None:
        return []
    contents = _consolidate(good, task, categories, job_name, settings)
    out = []
    for object_id in dict.fromkeys(ids):
        content = contents.get(object_id)
        if content is None:
            continue
        if settings.output == "custom":
            body = {attribute: _custom_value(content, task)}
        else:
            body = content.as_content(attribute)
        out.append(
            {"datasetObjectId": given[object_id], "consolidatedAnnotation": {"content": body}}
        )
    return out


def _consolidate(
    rows: list[AnswerRow],
    task: str,
    categories: Sequence[str] | None,
    job_name: str,
    settings: Settings,
) -> dict[str, gt.LabelContent]:
    if task == "classification":
        return _classify(rows, categories, job_name, settings)
    if settings.state:
        log.warning("CONSOLIDATION_STATE ignored: worker state is kept for classification only")
    if task == "multilabel":
        from .multilabel import MultiLabelConsolidator

        picked = {label for r in rows for label in answer_labels(r.content)}
        ml = MultiLabelConsolidator(base=make_estimator(settings.method))
        ml.fit(gt.multilabel_annotations(rows, categories or sorted(picked) or [_OTHER]))
        items = gt.multilabel_contents(ml, job_name=job_name, text=gt.is_text_task(rows))
    else:
        from .boxes import BoxConsolidator

        box_ann = gt.box_annotations(rows, categories)
        boxes = BoxConsolidator().fit(box_ann)
        sizes = {
            item: (float(w), float(h))
            for item, (w, h) in zip(box_ann.item_ids.tolist(), box_ann.image_sizes, strict=True)
            if np.isfinite(w) and np.isfinite(h)
        }
        items = gt.box_contents(boxes, job_name=job_name, image_sizes=sizes)
    return {str(c.item): c for c in items}


def _classify(
    rows: list[AnswerRow], categories: Sequence[str] | None, job_name: str, settings: Settings
) -> dict[str, gt.LabelContent]:
    """Single-label consolidation, warm-started from (and saved to) the worker state."""
    est = make_estimator(settings.method)
    warm, keep = _warm_state(settings.state, est)
    seen = {answer_label(r.content) for r in rows}
    if categories is None and warm is not None and seen <= set(map(str, warm.classes)):
        categories = [str(c) for c in warm.classes]  # the job's ids, batch after batch
    ann = gt.classification_annotations(rows, _at_least_two(categories, seen))
    if warm is not None:
        try:
            warm.check_classes(ann.classes.tolist())
        except AnnotationError as exc:
            log.warning("worker state ignored and left as it is: %s", exc)
            warm, keep = None, True
    if warm is not None:
        est.fit(ann, warm_start=warm)
    else:
        est.fit(ann)
    if settings.state and hasattr(est, "worker_state_") and not keep:
        _write_state(est.worker_state_, settings.state)
    text = gt.is_text_task(rows)
    items = gt.classification_contents(est, job_name=job_name, text=text, answers=ann)
    return {str(c.item): c for c in items}


#: A stand-in second class for a batch without ``labelCategories`` whose answers all show one
#: label: the estimators need two classes, and no answer votes for this one, so it is never the
#: label (and never written: a class-map names only chosen classes).
_OTHER = "\x00(any other label)"


def _at_least_two(categories: Sequence[str] | None, seen: set[str]) -> Sequence[str] | None:
    if categories is None and len(seen) == 1:
        return [*seen, _OTHER]
    return categories


def _warm_state(uri: str | None, est: Any) -> tuple[WorkerState | None, bool]:
    """Return the worker state to start from, and whether to leave the stored one untouched.

    A state that exists but cannot be read is logged and left as it is (the batch runs without
    it): overwriting it with one batch's evidence would lose every batch before.
    """
    if uri is None:
        return None, False
    if not _accepts_warm(est):
        log.warning("CONSOLIDATION_STATE ignored: %s does not learn worker quality", est)
        return None, False
    try:
        return _read_state(uri), False
    except _UnreadableStateError as exc:
        log.error(
            "worker state at %s unreadable (%s): this batch runs without it, and the "
            "state is left as it is",
            uri,
            exc,
        )
        return None, True


def _accepts_warm(est: Any) -> bool:
    import inspect

    return "warm_start" in inspect.signature(est.fit).parameters


def _custom_value(content: gt.LabelContent, task: str) -> Any:
    meta = content.metadata
    if task == "classification":
        return {"label": meta["class-name"], "confidence": meta["confidence"]}
    if task == "multilabel":
        cmap, conf = meta["class-map"], meta["confidence-map"]
        return {
            "labels": [cmap[str(k)] for k in content.value],
            "confidences": {cmap[str(k)]: conf[str(k)] for k in content.value},
        }
    cmap = meta["class-map"]
    return {
        "boundingBoxes": [
            {
                "label": cmap[str(a["class_id"])],
                **{k: a[k] for k in ("left", "top", "width", "height")},
                "confidence": o["confidence"],
            }
            for a, o in zip(content.value["annotations"], meta["objects"], strict=True)
        ]
    }
