"""The post-annotation Lambda handler: AWS sample events, the birds job in two batches."""

from __future__ import annotations

import copy
import gzip
import json
import logging
import sys
import types
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from consolidation import ModifiedDawidSkene, WorkerState
from consolidation.lambda_handler import Settings, handler

DATA = Path(__file__).parent / "data" / "lambda"
BIRDS = resources.files("consolidation") / "data" / "birds"
CLASSES = json.loads((BIRDS / "classes.json").read_text())


def _birds_payload(iteration: int) -> list[dict[str, Any]]:
    with gzip.open(str(BIRDS / f"consolidation-request-iteration-{iteration}.json.gz"), "rt") as fh:
        return list(json.load(fh))


def _service_labels() -> list[int]:
    with gzip.open(str(BIRDS / "output.manifest.gz"), "rt") as fh:
        return [json.loads(line)["birds-open-images-clone"] for line in fh]


def _event(payload: Any, **extra: Any) -> dict[str, Any]:
    return {
        "version": "2018-10-16",
        "labelingJobArn": "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/birds",
        "labelAttributeName": "birds",
        "labelCategories": CLASSES,
        "payload": payload,
        **extra,
    }


def test_aws_sample_event_gives_a_valid_response(tmp_path: Path) -> None:
    event = json.loads((DATA / "annotation_consolidation_test_event.json").read_text())
    event["payload"]["s3Uri"] = str(DATA / "sample_annotation_consolidation_payload.json")
    out = handler(event, None, settings=Settings())
    payload = json.loads((DATA / "sample_annotation_consolidation_payload.json").read_text())
    assert [o["datasetObjectId"] for o in out] == [p["datasetObjectId"] for p in payload]
    for element, obj in zip(out, payload, strict=True):
        content = element["consolidatedAnnotation"]["content"]
        assert set(content) == {"test-label-attribute", "test-label-attribute-metadata"}
        value = content["test-label-attribute"]
        meta = content["test-label-attribute-metadata"]
        boxes = json.loads(obj["annotations"][0]["annotationData"]["content"])["annotatedResult"]
        # One worker: its boxes come back as they were, confidence 0.0 (reference 2.2).
        assert len(value["annotations"]) == len(boxes["boundingBoxes"]) == len(meta["objects"])
        assert all(o["confidence"] == 0.0 for o in meta["objects"])
        size = boxes["inputImageProperties"]
        assert value["image_size"] == [
            {"width": size["width"], "height": size["height"], "depth": 3}
        ]
        assert meta["type"] == "groundtruth/object-detection"
        assert meta["job-name"] == "labeling-job/test-labeling-job"
        assert set(meta["class-map"].values()) == {b["label"] for b in boxes["boundingBoxes"]}
    # file:// URIs work the same way; the response is plain JSON.
    event["payload"]["s3Uri"] = (DATA / "sample_annotation_consolidation_payload.json").as_uri()
    again = json.loads(json.dumps(handler(event, None, settings=Settings())))
    for response in (again, out):
        for element in response:
            del element["consolidatedAnnotation"]["content"]["test-label-attribute-metadata"][
                "creation-date"
            ]
    assert again == out


def test_birds_two_batches_with_worker_state(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    settings = Settings(method="mds", state=str(state))
    service = _service_labels()
    first = handler(_event(_birds_payload(1)), None, settings=settings)
    assert len(first) == 10
    after_first = WorkerState.load(state)
    assert after_first.n_answers.sum() == 50
    second = handler(_event(_birds_payload(2)), None, settings=settings)
    assert len(second) == 292
    final = WorkerState.load(state)
    assert final.n_answers.sum() == 1510  # the second batch added its evidence to the first's
    agree = sum(
        o["consolidatedAnnotation"]["content"]["birds"] == service[int(o["datasetObjectId"])]
        for o in first + second
    )
    assert agree >= 300
    # The second batch demonstrably used the state: a cold start gives other posteriors.
    from consolidation.groundtruth import classification_annotations
    from manifests.responses import read_payload

    ann = classification_annotations(read_payload(_birds_payload(2)), CLASSES)
    warm = ModifiedDawidSkene().fit(ann, warm_start=after_first)
    cold = ModifiedDawidSkene().fit(ann)
    assert not np.allclose(warm.posteriors_, cold.posteriors_)
    conf = {
        o["datasetObjectId"]: o["consolidatedAnnotation"]["content"]["birds-metadata"]["confidence"]
        for o in second
    }
    np.testing.assert_allclose(
        [conf[str(i)] for i in warm.item_ids_.tolist()], np.round(warm.confidence_, 2)
    )


def test_corrupted_objects_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    payload = _birds_payload(1)
    bad = copy.deepcopy(payload)
    bad[1]["annotations"][0]["annotationData"]["content"] = "{not json"
    bad[3]["annotations"][2]["annotationData"]["content"] = json.dumps(
        {"crowd-image-classifier": {"label": "Dodo"}}
    )
    del bad[5]["annotations"][1]["workerId"]
    bad[7]["annotations"] = []
    with caplog.at_level(logging.WARNING, logger="consolidation.lambda_handler"):
        out = handler(_event(bad), None, settings=Settings(method="mds"))
    skipped = {payload[i]["datasetObjectId"] for i in (1, 3, 5, 7)}
    assert [o["datasetObjectId"] for o in out] == [
        p["datasetObjectId"] for p in payload if p["datasetObjectId"] not in skipped
    ]
    logged = caplog.text
    for i, reason in ((1, "decode"), (3, "Dodo"), (5, "workerId"), (7, "no answers")):
        assert f"datasetObjectId {payload[i]['datasetObjectId']} skipped" in logged
        assert reason in logged


def test_custom_output_and_multilabel() -> None:
    payload1 = _birds_payload(1)
    out = handler(_event(payload1), None, settings=Settings(method="mv", output="custom"))
    assert [o["datasetObjectId"] for o in out] == [p["datasetObjectId"] for p in payload1]
    for obj, element in zip(payload1, out, strict=True):
        assert set(element["consolidatedAnnotation"]["content"]) == {"birds"}
        value = element["consolidatedAnnotation"]["content"]["birds"]
        # Counted by hand from the payload: the most frequent answer and its share of votes.
        votes: dict[str, int] = {}
        for a in obj["annotations"]:
            label = json.loads(a["annotationData"]["content"])["crowd-image-classifier"]["label"]
            votes[label] = votes.get(label, 0) + 1
        top = max(votes.values())
        assert votes[value["label"]] == top
        assert value["confidence"] == pytest.approx(top / sum(votes.values()), abs=0.005)
    assert {o["consolidatedAnnotation"]["content"]["birds"]["confidence"] for o in out} != {1.0}
    payload = [
        {"datasetObjectId": "0", "annotations": [
            {"workerId": w, "annotationData": {"content": json.dumps(
                {"crowd-image-classifier-multi-select": {"labels": labels}})}}
            for w, labels in (("a", ["cat", "dog"]), ("b", ["cat"]), ("c", []))]},
    ]  # fmt: skip
    event = _event(payload, labelCategories=["cat", "dog", "fox"])
    ml = handler(event, None, settings=Settings(method="mds"))
    content = ml[0]["consolidatedAnnotation"]["content"]
    assert content["birds"] == [0, 1]
    assert content["birds-metadata"]["class-map"] == {"0": "cat", "1": "dog"}
    assert set(content["birds-metadata"]["confidence-map"]) == {"0", "1"}
    assert content["birds-metadata"]["type"] == "groundtruth/image-classification-multilabel"
    custom = handler(event, None, settings=Settings(method="mds", output="custom"))
    assert custom[0]["consolidatedAnnotation"]["content"]["birds"]["labels"] == ["cat", "dog"]
    service = handler(event, None, settings=Settings(method="mds-service"))
    capped = service[0]["consolidatedAnnotation"]["content"]["birds-metadata"]["confidence-map"]
    free = content["birds-metadata"]["confidence-map"]
    assert max(free.values()) > 0.95
    assert capped == {k: min(v, 0.95) for k, v in free.items()}


def test_settings_from_env_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLIDATION_TASK", "classification")
    monkeypatch.setenv("CONSOLIDATION_METHOD", "mv")
    settings = Settings.from_env()
    assert (settings.task, settings.method, settings.output) == ("classification", "mv", "builtin")
    monkeypatch.setenv("CONSOLIDATION_METHOD", "magic")
    with pytest.raises(ValueError, match="CONSOLIDATION_METHOD"):
        Settings.from_env()
    with pytest.raises(ValueError, match="labelAttributeName"):
        handler({"payload": []}, None, settings=Settings())
    with pytest.raises(ValueError, match="payload"):
        handler({"labelAttributeName": "x"}, None, settings=Settings())


class _ClientError(Exception):
    """What botocore raises for a failed S3 call: the error code is in ``response``."""

    def __init__(self, code: str) -> None:
        super().__init__(f"An error occurred ({code})")
        self.response = {"Error": {"Code": code}}


def test_s3_payload_and_state_go_through_lazily_imported_boto3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store: dict[tuple[str, str], bytes] = {
        ("bucket", "req/iteration-1/batch.json"): json.dumps(_birds_payload(1)).encode()
    }

    class _Body:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def read(self) -> bytes:
            return self.data

    class _Client:
        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
            if (Bucket, Key) not in store:
                raise _ClientError("NoSuchKey")
            return {"Body": _Body(store[(Bucket, Key)])}

        def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:
            store[(Bucket, Key)] = Body

    fake = types.ModuleType("boto3")
    fake.client = lambda name: _Client()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boto3", fake)
    event = _event({"s3Uri": "s3://bucket/req/iteration-1/batch.json"})
    out = handler(event, None, settings=Settings(method="mds", state="s3://bucket/state.json"))
    assert len(out) == 10
    state = WorkerState.from_dict(json.loads(store[("bucket", "state.json")]))
    assert state.n_answers.sum() == 50


def test_a_throttled_s3_state_read_is_not_a_first_batch(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    kept = b'{"kept": "as it was"}'
    store = {("bucket", "state.json"): kept}

    class _Client:
        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
            raise _ClientError("SlowDown")

        def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:
            store[(Bucket, Key)] = Body

    fake = types.ModuleType("boto3")
    fake.client = lambda name: _Client()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boto3", fake)
    with caplog.at_level(logging.ERROR):
        out = handler(
            _event(_birds_payload(1)),
            None,
            settings=Settings(method="mds", state="s3://bucket/state.json"),
        )
    assert len(out) == 10  # the batch is consolidated without the state...
    assert store[("bucket", "state.json")] == kept  # ...which is not overwritten by one batch
    assert "SlowDown" in caplog.text


def test_unknown_label_names_its_item_and_worker() -> None:
    # The documented error names the item and worker, as for multi-label and boxes; the
    # encoder alone said only "row 1", which matches nothing in a worker-response folder.
    from consolidation._errors import AnnotationError
    from consolidation.groundtruth import classification_annotations
    from manifests.responses import AnswerRow

    rows = [
        AnswerRow("14", "w1", {"crowd-image-classifier": {"label": "Owl"}}),
        AnswerRow("14", "w2", {"crowd-image-classifier": {"label": "Dodo"}}),
    ]
    message = "item '14', worker 'w2': label 'Dodo' in row 1 is not one"
    with pytest.raises(AnnotationError, match=message):
        classification_annotations(rows, ["Owl", "Duck"])
    assert classification_annotations(rows[:1], ["Owl", "Duck"]).labels.tolist() == [0]
