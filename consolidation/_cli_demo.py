"""``gt-consolidate demo``: consolidate the bundled birds job and compare with the real service."""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any

import manifests

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable
from manifests.responses import read_payload

from . import groundtruth as gt
from ._cli_io import PROG, output_text
from ._methods import make_estimator

__all__ = ["cmd_demo"]

SERVICE_ATTRIBUTE = "birds-open-images-clone"
ATTRIBUTE = "birds"
JOB_ARN = "arn:aws:sagemaker:us-west-2:111122223333:labeling-job/birds"

_NAMES = {
    "mv": "majority vote",
    "ds": "Dawid-Skene",
    "mds": "Modified Dawid-Skene (AWS), all at once",
    "default": "default (recommended)",
}


def _data() -> Traversable:
    return resources.files("consolidation") / "data" / "birds"


def _gunzip(name: str) -> bytes:
    return gzip.decompress((_data() / name).read_bytes())


def _payload(iteration: int) -> list[Any]:
    doc: list[Any] = json.loads(_gunzip(f"consolidation-request-iteration-{iteration}.json.gz"))
    return doc


def _manifest(name: str) -> Iterator[manifests.Record]:
    return iter(manifests.read(io.BytesIO(_gunzip(name)), name=name))


def _pct(hits: int, n: int) -> str:
    return f"{hits}/{n} {hits / n:6.1%}"


def cmd_demo(args: argparse.Namespace) -> int:
    """Consolidate the bundled job with several methods; write an output manifest."""
    from .lambda_handler import Settings, handler

    start = time.perf_counter()
    classes: list[str] = json.loads((_data() / "classes.json").read_text(encoding="utf-8"))
    gold = {
        r["item"]: r["label"]
        for r in csv.DictReader(io.StringIO((_data() / "gold.csv").read_text(encoding="utf-8")))
    }
    service = {
        str(n): rec[f"{SERVICE_ATTRIBUTE}-metadata"]["class-name"]
        for n, rec in enumerate(_manifest("output.manifest.gz"))
    }
    batches = [_payload(1), _payload(2)]
    rows = [r for batch in batches for r in read_payload(batch)]
    ann = gt.classification_annotations(rows, classes)
    n = ann.n_items

    methods = ["mv", "ds", "mds", "default"]
    fitted: dict[str, Any] = {}
    table = []
    for m in methods:
        est = make_estimator(m).fit(ann)
        fitted[m] = est
        labels = dict(zip(map(str, est.item_ids_.tolist()), est.labels_.tolist(), strict=True))
        hits = sum(labels[i] == gold[i] for i in gold)
        agree = sum(labels[i] == service[i] for i in service)
        table.append((_NAMES[m], _pct(hits, len(gold)), _pct(agree, n)))

    # The Lambda handler, batch by batch, carrying worker quality over in a state file.
    with tempfile.TemporaryDirectory(prefix="gt-consolidate-demo-") as tmp:
        settings = Settings(method="mds", state=os.path.join(tmp, "workers.json"))
        answers: dict[str, str] = {}
        for batch in batches:
            event = {
                "labelAttributeName": ATTRIBUTE,
                "labelCategories": classes,
                "labelingJobArn": JOB_ARN,
                "payload": batch,
            }
            for element in handler(event, None, settings=settings):
                meta = element["consolidatedAnnotation"]["content"][f"{ATTRIBUTE}-metadata"]
                answers[element["datasetObjectId"]] = meta["class-name"]
    lam_hits = sum(answers.get(i) == gold[i] for i in gold)
    lam_agree = sum(answers.get(i) == service[i] for i in service)
    table.append(
        ("Lambda handler, 2 batches, worker state", _pct(lam_hits, len(gold)), _pct(lam_agree, n))
    )
    svc_hits = sum(service[i] == gold[i] for i in gold)
    table.append(("the real service (MDS, 2 batches)", _pct(svc_hits, len(gold)), "-"))

    chosen = "default" if "default" in fitted else "mds"
    contents = {
        str(c.item): c
        for c in gt.classification_contents(fitted[chosen], job_name=gt.job_name_from_arn(JOB_ARN))
    }
    written = manifests.write(
        (
            rec
            for rec, _ in gt.merge_into_manifest(
                _manifest("input.manifest.gz"), contents, ATTRIBUTE
            )
        ),
        args.output,
    )
    seconds = time.perf_counter() - start

    width = max(len(r[0]) for r in table)
    lines = [
        f'Bundled Ground Truth job "{SERVICE_ATTRIBUTE}": {n} bird images, {len(classes)} '
        f"classes, {ann.n_answers} answers",
        f"from {ann.n_workers} Mechanical Turk workers (5 per image); "
        "gold labels from Open Images.",
        "",
        f"{'method':<{width}}  {'accuracy vs gold':>16}  {'same label as the service':>25}",
    ]
    lines += [f"{a:<{width}}  {b:>16}  {c:>25}" for a, b, c in table]
    lines += [
        "",
        f"wrote {args.output}: {written} lines, label attribute {ATTRIBUTE!r}, method {chosen}",
        f"next: gt-manifest stats {args.output}",
    ]
    with output_text("-") as out:
        out.write("\n".join(lines) + "\n")
    if not args.quiet:
        print(f"{PROG} demo: done in {seconds:.1f} s", file=sys.stderr)
    return 0
