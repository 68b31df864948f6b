"""``gt-consolidate multilabel``, ``boxes``, ``simulate`` and ``lambda``."""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from manifests._cli_util import progress, progress_enabled
from manifests.responses import load_json_uri

from . import groundtruth as gt
from ._cli_answers import open_source
from ._cli_classify import (
    accounting,
    check_cap,
    check_manifest_args,
    counted,
    estimator,
    finish_manifest,
    job_name,
    no_usable_answers,
    read_note,
    report,
)
from ._cli_io import PROG, InputError, UsageError, load_classes, output_text
from ._errors import AnnotationError, InvalidParameterError

__all__ = ["cmd_boxes", "cmd_lambda", "cmd_multilabel", "cmd_simulate"]


def _fmt(value: float, digits: int = 4) -> str:
    """``value`` rounded to ``digits`` decimals, without trailing zeros (``41.33``, ``10``).

    Fixed point, never ``:g``: a pixel coordinate such as 104321.5 keeps every digit.
    """
    text = f"{round(float(value), digits) + 0.0:.{digits}f}"  # + 0.0: no "-0"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text == "-0" else text


def _read(args: argparse.Namespace, task: str, acc: Any) -> tuple[list[Any], Any]:
    source = open_source(args.input, task, acc, load_classes(args.classes))
    answers = list(progress(source, None, progress_enabled(args), "answers"))
    if not answers:
        no_usable_answers(acc, source.name)
    return answers, source


# -------------------------------------------------------------------------------------------------
# multilabel
# -------------------------------------------------------------------------------------------------


def cmd_multilabel(args: argparse.Namespace) -> int:
    """Consolidate multi-label answers class by class."""
    from .multilabel import MultiLabelAnnotations, MultiLabelConsolidator

    check_manifest_args(args)
    if args.threshold is not None and args.output_rule != "threshold":
        raise UsageError("--threshold goes with --output-rule threshold")
    acc = accounting(args)
    answers, source = _read(args, "multilabel", acc)
    try:
        ann = MultiLabelAnnotations.from_records(answers, load_classes(args.classes))
    except AnnotationError as exc:  # e.g. no class ever picked: say which input
        raise InputError(f"{source.name}: {exc}") from exc
    model = MultiLabelConsolidator(
        base=estimator(args.method, args.jobs),
        output=args.output_rule,
        threshold=0.5 if args.threshold is None else args.threshold,
    )
    model.fit(ann)
    extra = ""
    if args.format == "manifest":
        text = source.text or args.text
        contents = {
            str(c.item): c
            for c in gt.multilabel_contents(model, job_name=job_name(args), text=text)
        }
        extra = ", " + finish_manifest(args, contents, acc)
    else:
        with output_text(args.output) as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["item", "labels", "confidences"])
            for item, labels, conf in model.results():
                writer.writerow(
                    [
                        item,
                        "|".join(str(x) for x in labels),
                        "|".join(_fmt(conf[x]) for x in labels),
                    ]
                )
                acc.written += 1
    report(
        args,
        acc,
        f"{read_note(acc, ann)}, written {acc.written}{extra}",
    )
    return 0


# -------------------------------------------------------------------------------------------------
# boxes
# -------------------------------------------------------------------------------------------------


def cmd_boxes(args: argparse.Namespace) -> int:
    """Consolidate bounding boxes: match across workers, fuse, score."""
    from ._box_annotations import BoxAnnotations
    from .boxes import BoxConsolidator

    check_manifest_args(args)
    check_cap(args.max_confidence)
    acc = accounting(args)
    answers, _ = _read(args, "boxes", acc)
    ann = BoxAnnotations.from_answers(answers, load_classes(args.classes))
    model = BoxConsolidator(
        iou_threshold=args.iou_threshold,
        min_votes=args.min_votes,
        fusion=args.fusion,
        max_confidence=args.max_confidence,
    ).fit(ann)
    extra = ""
    if args.format == "manifest":
        sizes = {
            str(item): (float(w), float(h))
            for item, (w, h) in zip(ann.item_ids.tolist(), ann.image_sizes, strict=True)
            if np.isfinite(w) and np.isfinite(h)
        }
        unsized = [str(item) for item in ann.item_ids.tolist() if str(item) not in sizes]
        if unsized and args.on_error == "raise":
            raise InputError(
                f"{len(unsized)} image(s) of unknown size, e.g. item {unsized[0]!r}: a Ground "
                "Truth box label needs image_size (give image_width and image_height columns, "
                "or answers that carry inputImageProperties); nothing written "
                "(--on-error skip writes the others)"
            )
        contents = {
            str(c.item): c
            for c in gt.box_contents(model, job_name=job_name(args), image_sizes=sizes)
            if str(c.item) in sizes
        }
        extra = ", " + finish_manifest(args, contents, acc)
        if unsized:
            extra += f", {len(unsized)} of unknown image size (not written)"
    else:
        with output_text(args.output) as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(
                ["item", "label", "left", "top", "width", "height", "confidence", "support"]
            )
            for item, label, left, top, width, height, conf, support in model.results():
                coords = [_fmt(v, 2) for v in (left, top, width, height)]
                writer.writerow([item, label, *coords, _fmt(conf), support])
                acc.written += 1
    report(
        args,
        acc,
        f"{read_note(acc, ann, classes=False, boxes=True)}, "
        f"fused {counted(int(model.boxes_.size), 'box', 'boxes')}, written {acc.written}{extra}",
    )
    return 0


# -------------------------------------------------------------------------------------------------
# simulate
# -------------------------------------------------------------------------------------------------


def parse_mix(value: str | None) -> dict[str, float] | None:
    """``reliable=0.7,spammer=0.3`` -> ``{"reliable": 0.7, "spammer": 0.3}``."""
    if value is None:
        return None
    mix: dict[str, float] = {}
    for part in value.split(","):
        name, sep, frac = part.partition("=")
        try:
            mix[name.strip()] = float(frac)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise UsageError(f"--worker-mix expects KIND=FRACTION,..., got {part!r}")
    return mix


#: The simulators' parameters, as ``simulate``'s options name them (for usage errors).
_SIMULATE_OPTIONS = {
    "n_items": "--n-items",
    "n_workers": "--n-workers",
    "n_classes": "--n-classes",
    "answers_per_item": "--answers-per-item",
    "worker_mix": "--worker-mix",
    "copies": "--copiers",
    "fraction": "--copied",
    "fidelity": "--fidelity",
}


def cmd_simulate(args: argparse.Namespace) -> int:
    """Write a simulated classification crowd (answers CSV) and, optionally, its truth."""
    try:
        return _simulate(args)
    except InvalidParameterError as exc:  # say it with the option's name, not the parameter's
        option = _SIMULATE_OPTIONS.get(exc.name)
        if option is None:
            raise
        raise UsageError(f"{option} {exc.value}: expected {exc.allowed}") from exc


def _simulate(args: argparse.Namespace) -> int:
    from . import simulate

    names = load_classes(args.classes)
    if names is not None and len(set(names)) != len(names):
        raise UsageError(f"--classes {args.classes}: a class is named twice")
    n_classes = len(names) if names is not None else args.n_classes
    if names is not None and args.n_classes_given and args.n_classes != len(names):
        raise UsageError(f"--n-classes {args.n_classes} disagrees with {len(names)} --classes")
    if names is None:
        names = [str(k) for k in range(n_classes)]
    sim = simulate.classification(
        args.n_items,
        args.n_workers,
        n_classes,
        args.answers_per_item,
        worker_mix=parse_mix(args.worker_mix),
        heavy_tailed=args.heavy_tailed,
        seed=args.seed,
    )
    if args.copiers is not None:
        given = {"fraction": args.copied, "fidelity": args.fidelity}
        sim = simulate.add_copiers(
            sim,
            args.copiers,
            seed=np.random.SeedSequence(args.seed).spawn(1)[0],  # a stream of its own
            **{name: value for name, value in given.items() if value is not None},
        )
    elif args.copied is not None or args.fidelity is not None:
        raise UsageError("--copied and --fidelity need --copiers")
    ann = sim.annotations
    width = len(str(args.n_workers - 1))  # copiers, numbered after, may need more digits
    workers = [f"w{int(w):0{width}d}" for w in ann.worker_ids.tolist()]
    items = ann.item_ids.tolist()
    with output_text(args.output) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["item", "worker", "label"])
        for i, w, lab in zip(
            ann.items.tolist(), ann.workers.tolist(), ann.labels.tolist(), strict=True
        ):
            writer.writerow([items[i], workers[w], names[lab]])
    if args.truth:
        with output_text(args.truth) as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["item", "label"])
            writer.writerows([items[i], names[t]] for i, t in enumerate(sim.truth.tolist()))
    if not args.quiet:
        kinds = dict(zip(*np.unique(sim.worker_kinds, return_counts=True), strict=True))
        mix = ", ".join(f"{k} {int(v)}" for k, v in kinds.items())
        print(
            f"{PROG} simulate: written {counted(ann.n_answers, 'answer')} "
            f"({counted(ann.n_items, 'item')}, {counted(ann.n_workers, 'worker')}: {mix}; "
            f"{counted(n_classes, 'class', 'classes')})"
            + (f", truth in {args.truth}" if args.truth else ""),
            file=sys.stderr,
        )
    return 0


# -------------------------------------------------------------------------------------------------
# lambda
# -------------------------------------------------------------------------------------------------


def _payload_loader(event_path: str) -> Any:
    base = os.path.dirname(os.path.abspath(event_path)) if event_path != "-" else os.getcwd()

    def load(event: Mapping[str, Any]) -> list[Any]:
        payload = event.get("payload")
        if isinstance(payload, list):
            return payload
        uri = payload.get("s3Uri") if isinstance(payload, Mapping) else None
        if not isinstance(uri, str):
            raise InputError(f"{event_path}: payload: neither s3Uri nor an inline list")
        if uri.startswith("s3://"):
            doc = load_json_uri(uri)
        else:
            path = unquote(urlparse(uri).path) if uri.startswith("file://") else uri
            if not os.path.isabs(path) and not os.path.exists(path):
                path = os.path.join(base, path)  # relative to the event file
            if not os.path.exists(path):
                raise InputError(f"{event_path}: payload.s3Uri: {uri}: no such file")
            with open(path, "rb") as fh:
                data = fh.read()
            try:
                if data[:2] == b"\x1f\x8b":  # gzip, whatever the name (as the handler reads it)
                    data = gzip.decompress(data)
                doc = json.loads(data)
            except (OSError, EOFError, ValueError) as exc:
                raise InputError(f"{path}: <file>: not valid JSON: {exc}") from exc
        if not isinstance(doc, list):
            raise InputError(f"{uri}: <file>: a payload is a JSON array of data objects")
        return doc

    return load


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def cmd_lambda(args: argparse.Namespace) -> int:
    """Run the post-annotation Lambda handler on a local event file."""
    from .lambda_handler import Settings, handler, log

    try:
        if args.event == "-":
            event = json.load(sys.stdin)
        else:
            if not os.path.exists(args.event):
                raise UsageError(f"{args.event}: no such file or folder")
            with open(args.event, encoding="utf-8") as fh:
                event = json.load(fh)
    except ValueError as exc:
        raise InputError(f"{args.event}: <file>: not valid JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise InputError(f"{args.event}: <file>: an event is a JSON object")
    env = Settings.from_env()
    settings = Settings(
        task=args.task or env.task,
        method=args.method or env.method,
        output=args.output_format or env.output,
        state=args.state or env.state,
    )
    load = _payload_loader(args.event)
    payload = load(event)
    collect = _Collect()
    log.addHandler(collect)
    try:
        response = handler(event, None, load_payload=lambda _: payload, settings=settings)
    except AnnotationError as exc:
        raise InputError(f"{args.event}: {exc}") from exc
    finally:
        log.removeHandler(collect)
    for message in collect.messages:
        print(f"{PROG} lambda: {message}", file=sys.stderr)
    with output_text(args.output) as out:
        indent = args.indent if args.indent > 0 else None
        out.write(json.dumps(response, ensure_ascii=False, indent=indent) + "\n")
    if not args.quiet:
        ids = {str(e.get("datasetObjectId")) for e in payload if isinstance(e, Mapping)}
        print(
            f"{PROG} lambda: read {len(payload)} data objects, written {len(response)}, "
            f"skipped {len(ids) - len(response)} (task {settings.task}, method "
            f"{settings.method}, output {settings.output}"
            + (f", state {settings.state}" if settings.state else "")
            + ")",
            file=sys.stderr,
        )
    return 0
