"""Worker-response folders and consolidation payloads -> answer rows."""

from __future__ import annotations

import csv
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from manifests import (
    Accounting,
    AnswerBox,
    AnswerRow,
    FieldError,
    InvalidLineError,
    ManifestError,
    answer_boxes,
    answer_label,
    answer_labels,
    read_payload,
    read_worker_responses,
)
from manifests.responses import decode_content, find_element, load_json_uri
from tests.conftest import dataset_path

DATA = Path(__file__).parent / "data" / "manifests"
BIRD_CLASSES = [
    "Duck",
    "Sparrow",
    "Woodpecker",
    "Owl",
    "Parrot",
    "Turkey",
    "Falcon",
    "Swan",
    "Goose",
    "Canary",
]


@pytest.mark.shared
def test_birds_worker_responses_equal_answers_csv() -> None:
    folder = dataset_path("groundtruth", "birds-ic-mturk5", "worker-response")
    acc = Accounting()
    rows = list(read_worker_responses(folder, accounting=acc))
    assert len(rows) == acc.read == 1510
    assert acc.rejected == 0
    got = sorted((r.item, r.worker, BIRD_CLASSES.index(r.label())) for r in rows)
    with open(folder.parent / "answers.csv", newline="") as fh:
        expected = sorted(
            (row["item"], row["worker"], int(row["label"])) for row in csv.DictReader(fh)
        )
    assert len(expected) == 1510
    assert got == expected
    assert {r.iteration for r in rows} == {1, 2}
    assert sum(r.iteration == 1 for r in rows) == 50  # the probe batch of 10 objects
    assert all(r.submission_time and r.submission_time.endswith("Z") for r in rows)
    assert all(r.source and r.source.endswith(".json") for r in rows)
    items = [int(r.item) for r in rows if r.iteration == 2]
    assert items == sorted(items)  # numeric order of the item folders


@pytest.mark.shared
def test_worker_responses_folder_forms() -> None:
    folder = dataset_path("groundtruth", "birds-ic-mturk5", "worker-response")
    assert len(list(read_worker_responses(folder / "iteration-1"))) == 50
    assert len(list(read_worker_responses(folder, iteration=2))) == 1460
    assert len(list(read_worker_responses(folder.parent))) == 1510  # parent holding worker-response


def _response_tree(tmp_path: Path, files: dict[str, Any]) -> Path:
    root = tmp_path / "job" / "annotations" / "worker-response"
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return tmp_path / "job"


def test_worker_responses_report_bad_files_and_answers(tmp_path: Path) -> None:
    good = {"answerContent": {"crowd-image-classifier": {"label": "Owl"}}, "workerId": "w1"}
    job = _response_tree(
        tmp_path,
        {
            "iteration-1/0/2024-01-01_00:00:00.json": {"answers": [good, {"answerContent": {}}]},
            "iteration-1/1/2024-01-01_00:00:01.json": "{not json",
            "iteration-1/2/2024-01-01_00:00:02.json": {"answers": [{"workerId": "w2"}]},
            "iteration-1/3/2024-01-01_00:00:03.json": {"no": "answers"},
            "iteration-10/4/2024-01-01_00:00:04.json": {"answers": [good]},
        },
    )
    acc = Accounting(on_error="collect")
    rows = list(read_worker_responses(job, accounting=acc))
    assert [(r.item, r.iteration) for r in rows] == [("0", 1), ("4", 10)]
    fields = [rej.field for rej in acc.rejections]
    assert fields == ["answers[1].workerId", "<file>", "answers[0].answerContent", "answers"]
    assert acc.read == 6
    assert acc.rejected == 4
    assert str(acc.rejections[0]).endswith(
        "2024-01-01_00:00:00.json: answers[1].workerId: missing or not a string"
    )
    with pytest.raises(InvalidLineError):
        list(read_worker_responses(job))
    with pytest.raises(ManifestError, match="no iteration"):
        list(read_worker_responses(tmp_path))


def test_payload_fixture_boxes() -> None:
    rows = list(read_payload(DATA / "gt-recipe-payload.json"))
    assert [(r.item, r.worker) for r in rows] == [
        ("0", "private.us-east-1.CYUQXZT3LFXJIUFCZMZ6HC2KFM"),
        ("2", "private.us-east-1.CYUQXZT3LFXJIUFCZMZ6HC2KFM"),
    ]
    first = rows[0].boxes()
    assert first.boxes == (
        AnswerBox("Red", 116, 283, 137, 128),
        AnswerBox("Green", 418, 281, 138, 141),
    )
    assert (first.image_width, first.image_height) == (640, 432)
    assert rows[0].iteration is None


def test_payload_forms_and_decoding(tmp_path: Path) -> None:
    answer = {"crowd-image-classifier": {"label": "heron"}}
    big = tmp_path / "big answer.json"
    big.write_text(json.dumps(answer))
    payload = [
        {
            "datasetObjectId": "14",
            "dataObject": {"s3Uri": "s3://b/14.jpg"},
            "annotations": [
                {"workerId": "w1", "annotationData": {"content": json.dumps(answer)}},
                {"workerId": "w2", "annotationData": {"content": json.dumps(json.dumps(answer))}},
                {"workerId": "w3", "annotationData": {"s3Uri": big.as_uri()}},
                {"workerId": "w4", "annotationData": {"content": answer}},
            ],
        },
        {"datasetObjectId": 15, "annotations": []},
    ]
    folder = tmp_path / "consolidation-request" / "iteration-3"
    folder.mkdir(parents=True)
    path = folder / "2024-03-02_10:15:00.json"
    path.write_text(json.dumps(payload, indent=2))
    for source in (
        payload,
        path,
        str(path),
        path.as_uri(),
        {"payload": {"s3Uri": str(path)}},
        {"payload": payload},
    ):
        rows = list(read_payload(source))  # type: ignore[arg-type]
        assert [(r.item, r.worker, r.label()) for r in rows] == [
            ("14", f"w{k}", "heron") for k in range(1, 5)
        ]
    assert {r.iteration for r in read_payload(path)} == {3}
    with pytest.raises(ManifestError, match="no payload"):
        list(read_payload({"payload": {}}))


def test_payload_problems_are_located(tmp_path: Path) -> None:
    payload = [
        "not an object",
        {"annotations": []},
        {"datasetObjectId": "1", "annotations": "x"},
        {
            "datasetObjectId": "2",
            "annotations": [
                {"annotationData": {"content": "{}"}},
                {"workerId": "w", "annotationData": {"content": "{bad"}},
                {"workerId": "w", "annotationData": {}},
                {"workerId": "w"},
                {"workerId": "w", "annotationData": {"s3Uri": str(tmp_path / "missing.json")}},
                7,
            ],
        },
    ]
    acc = Accounting(on_error="collect")
    assert list(read_payload(payload, accounting=acc)) == []
    assert [r.field for r in acc.rejections] == [
        "[0]",
        "[1].datasetObjectId",
        "[2].annotations",
        "[3].annotations[0].workerId",
        "[3].annotations[1].annotationData",
        "[3].annotations[2].annotationData",
        "[3].annotations[3].annotationData",
        "[3].annotations[4].annotationData",
        "[3].annotations[5]",
    ]
    assert acc.read == acc.rejected == 9
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    acc = Accounting(on_error="collect")
    assert list(read_payload(bad, accounting=acc)) == []
    assert acc.rejections[0].field == "<file>"


def test_answer_helpers_whatever_the_element_name() -> None:
    assert answer_label({"my-classifier": {"label": "x", "workerComment": "hm"}}) == "x"
    assert answer_label({"label": "y"}) == "y"
    assert answer_labels({"tags": {"labels": ["a", "b"]}}) == ["a", "b"]
    assert answer_labels({"tags": {"labels": None}}) == []
    empty = answer_boxes(
        {
            "annotatedResult": {
                "boundingBoxes": None,
                "inputImageProperties": {"height": 5, "width": 6},
            }
        }
    )
    assert (empty.boxes, empty.image_width, empty.image_height) == ((), 6, 5)
    row = AnswerRow("1", "w", {"boundingBox": {"boundingBoxes": []}})
    assert row.boxes().boxes == ()
    with pytest.raises(FieldError, match="no element"):
        answer_label({"x": {"labels": []}})
    with pytest.raises(FieldError, match="several elements"):
        answer_label({"a": {"label": "1"}, "b": {"label": "2"}})
    with pytest.raises(FieldError, match="expected a string"):
        answer_label({"a": {"label": 3}})
    with pytest.raises(FieldError, match="list of strings"):
        answer_labels({"a": {"labels": [1]}})
    with pytest.raises(FieldError) as info:
        answer_boxes(
            {
                "a": {
                    "boundingBoxes": [
                        {"label": "x", "left": "1", "top": 0, "width": 1, "height": 1}
                    ]
                }
            }
        )
    assert info.value.field == "content.a.boundingBoxes[0].left"
    with pytest.raises(FieldError):
        find_element("text", "label")


def test_decode_content() -> None:
    assert decode_content({"a": 1}) == {"a": 1}
    assert decode_content(json.dumps(json.dumps({"a": 1}))) == {"a": 1}
    with pytest.raises(ValueError, match="NaN"):
        decode_content('{"a": NaN}')
    with pytest.raises(ValueError, match="three rounds"):
        decode_content(json.dumps(json.dumps(json.dumps(json.dumps("x")))))


def test_s3_uris_use_boto3_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []

    class Body:
        def read(self) -> bytes:
            return b'{"crowd-image-classifier": {"label": "gull"}}'

    class Client:
        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
            calls.append((Bucket, Key))
            return {"Body": Body()}

    fake = types.ModuleType("boto3")
    fake.client = lambda name: Client()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boto3", fake)
    assert answer_label(load_json_uri("s3://bucket/path/to/a.json")) == "gull"
    assert calls == [("bucket", "path/to/a.json")]
