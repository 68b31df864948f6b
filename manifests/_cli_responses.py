"""``gt-manifest responses``: worker responses or a payload as CSV / JSON Lines answer rows."""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections.abc import Callable, Iterable
from typing import IO, Any

from manifests._cli_util import (
    UsageError,
    accounting,
    load_labels,
    plural_s,
    progress,
    progress_enabled,
    report,
)
from manifests._writing import stdout_text
from manifests.errors import FieldError
from manifests.responses import (
    AnswerRow,
    answer_boxes,
    answer_label,
    answer_labels,
    read_payload,
    read_worker_responses,
    worker_response_iterations,
)


def _label_index(labels: list[str] | None, name: str) -> str | int:
    if labels is None:
        return name
    try:
        return labels.index(name)
    except ValueError:
        raise FieldError("label", f"{name!r} is not in the label list") from None


def _response_rows(
    args: argparse.Namespace, row: AnswerRow, labels: list[str] | None
) -> list[dict[str, Any]]:
    base: dict[str, Any] = {"item": row.item, "worker": row.worker}
    task = args.task
    if task == "raw":
        return [
            {
                **base,
                "iteration": row.iteration,
                "submission_time": row.submission_time,
                "content": row.content,
            }
        ]
    if task == "classification":
        return [{**base, "label": _label_index(labels, answer_label(row.content))}]
    if task == "multilabel":
        return [{**base, "labels": [_label_index(labels, x) for x in answer_labels(row.content)]}]
    answer = answer_boxes(row.content)
    size = {"image_width": answer.image_width, "image_height": answer.image_height}
    if args.format == "jsonl":
        boxes = [{**b._asdict(), "label": _label_index(labels, b.label)} for b in answer.boxes]
        return [{**base, "boxes": boxes, **size}]
    if not answer.boxes:  # a worker who drew nothing still answered: keep a row for them
        return [{**base, "label": "", "left": "", "top": "", "width": "", "height": "", **size}]
    return [
        {**base, **b._asdict(), "label": _label_index(labels, b.label), **size}
        for b in answer.boxes
    ]


_CSV_COLUMNS = {
    "classification": ["item", "worker", "label"],
    "multilabel": ["item", "worker", "labels"],
    "boxes": [
        "item",
        "worker",
        "label",
        "left",
        "top",
        "width",
        "height",
        "image_width",
        "image_height",
    ],
}


def cmd_responses(args: argparse.Namespace) -> int:
    if args.format == "csv" and args.task == "raw":
        raise UsageError("--format csv needs --task classification, multilabel or boxes")
    if args.labels is not None and args.task == "raw":  # raw rows keep the content as it is
        raise UsageError("--labels needs --task classification, multilabel or boxes")
    labels = load_labels(args.labels)
    acc = accounting(args)
    source = args.input
    if source != "-" and not os.path.exists(source) and not source.startswith(("s3://", "file://")):
        raise UsageError(f"{source}: no such file or folder")
    if source != "-" and os.path.isdir(source):
        if args.iteration is not None:
            found = worker_response_iterations(source)
            if args.iteration not in found:
                listed = ", ".join(str(n) for n in found)
                raise UsageError(
                    f"--iteration {args.iteration}: {source} has no such iteration "
                    f"(it has iteration{plural_s(len(found))} {listed})"
                )
        rows: Iterable[AnswerRow] = read_worker_responses(
            source, iteration=args.iteration, accounting=acc
        )
    else:
        if args.iteration is not None:
            raise UsageError(
                "--iteration selects an iteration of a worker-response folder; "
                f"{source} is a payload"
            )
        rows = read_payload(source, accounting=acc)
    out: IO[str]
    owned = args.output != "-"
    release: Callable[[], None] | None = None
    if owned:
        out = open(args.output, "w", encoding="utf-8", newline="")  # noqa: SIM115
    else:
        out, release = stdout_text("")
    try:
        writer = csv.writer(out, lineterminator="\n") if args.format == "csv" else None
        if writer is not None:
            writer.writerow(_CSV_COLUMNS[args.task])
        for row in progress(rows, None, progress_enabled(args), "answers"):
            try:
                items = _response_rows(args, row, labels)
            except FieldError as exc:
                acc.reject(
                    row.source or "<payload>",
                    0,
                    f"item {row.item}, worker {row.worker}: {exc.field}",
                    exc.reason,
                    cause=exc,
                )
                continue
            for item in items:
                if writer is not None:
                    if args.task == "multilabel":
                        item["labels"] = json.dumps(item["labels"], ensure_ascii=False)
                    writer.writerow([item[c] for c in _CSV_COLUMNS[args.task]])
                else:
                    out.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
            acc.written += 1
    finally:
        if release is None:
            out.close()
        else:
            out.flush()
            release()
    acc.check()
    report(args, acc)
    return 0
