"""The Lambda handler never fails a batch for one object, and never loses the worker state."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from consolidation import WorkerState
from consolidation.lambda_handler import Settings, handler

JOB = "arn:aws:sagemaker:us-east-1:111122223333:labeling-job/birds"


def _answer(worker: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"workerId": worker, "annotationData": {"content": json.dumps(content)}}


def _label(worker: str, label: str) -> dict[str, Any]:
    return _answer(worker, {"crowd-image-classifier": {"label": label}})


def _box(worker: str, boxes: list[tuple[str, float, float, float, float]], size: int = 100) -> Any:
    return _answer(
        worker,
        {
            "annotatedResult": {
                "boundingBoxes": [
                    {"label": lab, "left": x, "top": y, "width": w, "height": h}
                    for lab, x, y, w, h in boxes
                ],
                "inputImageProperties": {"width": size, "height": size},
            }
        },
    )


def _event(payload: list[Any], categories: list[str] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"labelAttributeName": "birds", "labelingJobArn": JOB}
    if categories is not None:
        event["labelCategories"] = categories
    return {**event, "payload": payload}


def _objects(n: int, labels: tuple[str, ...] = ("Owl", "Duck")) -> list[dict[str, Any]]:
    return [
        {
            "datasetObjectId": str(i),
            "annotations": [
                _label(w, labels[(i + (w == "w3")) % len(labels)]) for w in ("w1", "w2", "w3")
            ],
        }
        for i in range(n)
    ]


def _ids(out: list[dict[str, Any]]) -> list[str]:
    return [o["datasetObjectId"] for o in out]


def test_one_odd_answer_does_not_decide_the_task(caplog: pytest.LogCaptureFixture) -> None:
    payload = _objects(6)
    # The first answer of the batch is a multi-label one, the second holds no known element.
    payload[0]["annotations"][0] = _answer("w1", {"crowd-image-classifier": {"labels": ["Owl"]}})
    payload[1]["annotations"][0] = _answer("w1", {"x": {"foo": 1}})
    with caplog.at_level(logging.WARNING):
        out = handler(_event(payload, ["Owl", "Duck"]), settings=Settings(method="mv"))
    assert _ids(out) == ["2", "3", "4", "5"]  # the others are classified as usual
    # Object i: w1 and w2 answer ("Owl", "Duck")[i % 2], w3 the other: the majority wins.
    contents = [o["consolidatedAnnotation"]["content"] for o in out]
    assert [c["birds"] for c in contents] == [0, 1, 0, 1]
    assert [c["birds-metadata"]["class-name"] for c in contents] == ["Owl", "Duck", "Owl", "Duck"]
    assert "datasetObjectId 0 skipped" in caplog.text
    assert "datasetObjectId 1 skipped" in caplog.text


@pytest.mark.parametrize("method", ["mv", "mds", "default"])
def test_one_label_seen_and_no_categories(method: str) -> None:
    payload = _objects(3, labels=("Owl",))
    out = handler(_event(payload), settings=Settings(method=method))
    assert _ids(out) == ["0", "1", "2"]
    for o in out:
        content = o["consolidatedAnnotation"]["content"]
        assert content["birds"] == 0
        assert content["birds-metadata"]["class-name"] == "Owl"
        assert 0.5 < content["birds-metadata"]["confidence"] <= 1.0


def test_multilabel_with_nothing_picked_and_no_categories() -> None:
    payload = [
        {"datasetObjectId": "a", "annotations": [_answer(w, {"m": {"labels": []}}) for w in "xy"]}
    ]
    (out,) = handler(_event(payload), settings=Settings(method="mv"))
    content = out["consolidatedAnnotation"]["content"]
    assert content["birds"] == []
    assert content["birds-metadata"]["class-map"] == {}
    assert content["birds-metadata"]["confidence-map"] == {}


def test_one_worker_gets_confidence_zero_as_the_service_writes() -> None:
    payload = _objects(4)
    payload[2]["annotations"] = payload[2]["annotations"][:1]
    out = handler(_event(payload, ["Owl", "Duck"]), settings=Settings(method="mds"))
    confidence = {o["datasetObjectId"]: o["consolidatedAnnotation"]["content"]["birds-metadata"]
                  ["confidence"] for o in out}  # fmt: skip
    assert confidence["2"] == 0.0
    assert all(c > 0.5 for k, c in confidence.items() if k != "2")
    tags = [{"datasetObjectId": "t", "annotations": [_answer("w1", {"m": {"labels": ["Owl"]}})]}]
    (ml,) = handler(_event(tags, ["Owl", "Duck"]), settings=Settings(method="mds"))
    assert ml["consolidatedAnnotation"]["content"]["birds-metadata"]["confidence-map"] == {"0": 0.0}


def test_bad_boxes_and_disagreeing_image_sizes_skip_only_their_object(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = {
        "datasetObjectId": "ok",
        "annotations": [
            _box("w1", [("gull", 10, 10, 20, 20)]),
            _box("w2", [("gull", 11, 10, 20, 20)]),
        ],
    }
    negative = {
        "datasetObjectId": "neg",
        "annotations": [
            _box("w1", [("gull", 10, 10, -5, 7)]),
            _box("w2", [("gull", 10, 10, 5, 7)]),
        ],
    }
    sizes = {
        "datasetObjectId": "size",
        "annotations": [
            _box("w1", [("gull", 1, 1, 5, 5)], size=50),
            _box("w2", [("gull", 1, 1, 5, 5)], size=60),
        ],
    }
    with caplog.at_level(logging.WARNING):
        out = handler(_event([good, negative, sizes], ["heron", "gull"]), settings=Settings())
    assert _ids(out) == ["ok"]
    assert "datasetObjectId neg skipped" in caplog.text
    assert "width: -5" in caplog.text
    assert "datasetObjectId size skipped" in caplog.text


# -------------------------------------------------------------------------------------------------
# worker state
# -------------------------------------------------------------------------------------------------


def _mds(state: Path) -> Settings:
    return Settings(method="mds", state=str(state))


@pytest.mark.parametrize("text", ["{not json", "", '{"classes": ["Owl"'])
def test_an_unreadable_state_is_left_alone_and_the_batch_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    state = tmp_path / "state.json"
    state.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        out = handler(_event(_objects(4), ["Owl", "Duck"]), settings=_mds(state))
    assert len(out) == 4
    assert "unreadable" in caplog.text
    assert state.read_text(encoding="utf-8") == text  # kept for a human to look at


def test_a_state_of_other_classes_is_not_overwritten(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    handler(_event(_objects(4, ("cat", "dog")), ["cat", "dog"]), settings=_mds(state))
    before = state.read_text(encoding="utf-8")
    out = handler(_event(_objects(4), ["Owl", "Duck"]), settings=_mds(state))
    assert len(out) == 4
    assert state.read_text(encoding="utf-8") == before


def test_a_state_that_cannot_be_written_is_logged_and_the_labels_returned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "missing-folder" / "state.json"
    with caplog.at_level(logging.ERROR):
        out = handler(_event(_objects(3), ["Owl", "Duck"]), settings=_mds(state))
    assert len(out) == 3
    assert "worker state not saved" in caplog.text


def test_without_categories_the_states_classes_keep_ids_stable(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = handler(_event(_objects(4, ("Owl", "Duck", "Swan"))), settings=_mds(state))
    assert WorkerState.load(state).classes == ["Duck", "Owl", "Swan"]
    second = handler(_event(_objects(4, ("Swan", "Owl"))), settings=_mds(state))
    names = {}
    for o in first + second:
        meta = o["consolidatedAnnotation"]["content"]
        names.setdefault(meta["birds-metadata"]["class-name"], set()).add(meta["birds"])
    assert names == {"Duck": {0}, "Owl": {1}, "Swan": {2}}  # one id per class over both batches


def test_object_ids_come_back_as_given(caplog: pytest.LogCaptureFixture) -> None:
    payload: list[Any] = _objects(3)
    payload[0]["datasetObjectId"] = 7  # an integer id stays an integer
    del payload[2]["datasetObjectId"]
    with caplog.at_level(logging.WARNING):
        out = handler(_event(payload, ["Owl", "Duck"]), settings=Settings(method="mv"))
    assert [o["datasetObjectId"] for o in out] == [7, "1"]
    assert "payload[2] (no datasetObjectId)" in caplog.text


def test_a_repeated_answer_keeps_the_last_for_every_task(caplog: pytest.LogCaptureFixture) -> None:
    boxes = {"datasetObjectId": "b", "annotations": [
        _box("w1", [("gull", 10, 10, 20, 20)]), _box("w2", [("gull", 10, 10, 20, 20)]),
        _box("w1", [("gull", 60, 60, 20, 20)])]}  # fmt: skip
    with caplog.at_level(logging.WARNING):
        (out,) = handler(_event([boxes], ["heron", "gull"]), settings=Settings())
    content = out["consolidatedAnnotation"]["content"]
    assert sorted(a["left"] for a in content["birds"]["annotations"]) == [10.0, 60.0]
    # w1's second answer only: each box is one worker's of two (kept twice, w1 agreed with w2)
    assert [o["confidence"] for o in content["birds-metadata"]["objects"]] == [0.5, 0.5]
    assert "1 repeated answer(s)" in caplog.text
