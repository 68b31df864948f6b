"""validate (reference section 5.3) and the label attribute naming rules."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from manifests import (
    Accounting,
    InvalidLineError,
    InvalidNameError,
    attribute_name_problems,
    check_attribute_name,
    read,
    validate,
    validate_record,
)
from tests.conftest import dataset_path

DATA = Path(__file__).parent / "data" / "manifests"
GT_FILES = [
    "banana-ic/input.manifest",
    "banana-ic/output.manifest",
    "birds-ic-mturk5/output.manifest",
    "cat-od-1worker/output.manifest",
    "coral-ic-4class/output.manifest",
    "korean-layout-od-chain/output.manifest",
    "legal-custom-entities/output.manifest",
    "logo-od-1worker/output.manifest",
    "ocr-od-zh/output.manifest",
    "od-birds-yolov5/output.manifest",
    "pcb-semseg-1/output.manifest",
    "vehicle-ic-10/output.manifest",
]


@pytest.mark.shared
@pytest.mark.parametrize("name", GT_FILES)
def test_real_artifacts_are_valid(name: str) -> None:
    path = dataset_path("groundtruth", *name.split("/"))
    acc = Accounting()
    n = sum(1 for _ in validate(read(path, accounting=acc), accounting=acc))
    assert n == acc.read > 0
    assert acc.rejected == 0


def test_fixtures_are_valid() -> None:
    paths = sorted(DATA.glob("*.manifest"))
    assert len(paths) >= 5  # a renamed folder must not turn the loop into a no-op
    for path in paths:
        records = list(read(path))
        assert records, path
        for rec in records:
            assert validate_record(rec) == [], path


def _pier() -> dict[str, Any]:
    return json.loads((DATA / "pier.manifest").read_text().splitlines()[0])  # type: ignore[no-any-return]


def _mixed(attr: str) -> dict[str, Any]:
    for line in (DATA / "mixed-types.manifest").read_text().splitlines():
        rec = json.loads(line)
        if attr in rec:
            return rec  # type: ignore[no-any-return]
    raise KeyError(attr)


def _fields(rec: dict[str, Any], attribute: str | None = None) -> list[str]:
    return [p.field for p in validate_record(rec, attribute)]


def test_data_key_rules() -> None:
    assert _fields({"x": 1}) == ["source-ref"]
    assert _fields({"source": "a", "source-ref": "s3://b"}) == ["source-ref"]
    assert _fields({"source-ref": 3}) == ["source-ref"]
    assert _fields({"source": "a"}) == []


def test_object_detection_checks() -> None:
    rec = _pier()
    rec["pier-metadata"]["objects"].pop()
    assert _fields(rec) == ["pier-metadata.objects"]
    rec = _pier()
    rec["pier"]["annotations"][1]["class_id"] = 7
    assert _fields(rec) == ["pier.annotations[1].class_id"]
    rec = _pier()
    rec["pier"]["image_size"] = {"width": 640, "height": 480}
    assert _fields(rec) == ["pier.image_size"]
    rec = _pier()
    del rec["pier"]["image_size"]
    assert _fields(rec) == ["pier.image_size"]
    rec = _pier()
    rec["pier"]["annotations"][0]["top"] = float("inf")
    assert _fields(rec) == ["pier.annotations[0].top"]
    rec = _pier()
    rec["pier"]["annotations"][0]["width"] = -3
    assert _fields(rec) == ["pier.annotations[0]"]
    rec = _pier()
    rec["pier-metadata"]["objects"][0]["confidence"] = 1.5
    assert _fields(rec) == ["pier-metadata.objects[0].confidence"]


def test_classification_multilabel_and_common_checks() -> None:
    rec = _mixed("bird-species")
    del rec["bird-species-metadata"]["class-name"]
    assert _fields(rec) == ["bird-species-metadata.class-name"]
    rec = _mixed("bird-species")
    rec["bird-species"] = "four"
    assert _fields(rec) == ["bird-species"]
    rec = _mixed("bird-species")
    rec["bird-species-metadata"]["human-annotated"] = True
    assert _fields(rec) == ["bird-species-metadata.human-annotated"]
    rec = _mixed("bird-species")
    rec["bird-species-metadata"]["adjustment-status"] = "maybe"
    assert _fields(rec) == ["bird-species-metadata.adjustment-status"]
    rec = _mixed("street-tags")
    rec["street-tags"] = [2, 0, 5]
    assert _fields(rec) == ["street-tags-metadata.class-map", "street-tags-metadata.confidence-map"]
    rec = _mixed("street-tags")
    del rec["street-tags-metadata"]["confidence-map"]["0"]
    assert _fields(rec) == ["street-tags-metadata.confidence-map"]
    rec = _mixed("street-tags")
    rec["street-tags"] = [2, 2, 0]
    assert _fields(rec)[0] == "street-tags"


def test_segmentation_span_and_naming_checks() -> None:
    rec = _mixed("road-mask-ref")
    rec["road-mask-ref-metadata"]["internal-color-map"]["1"]["hex-color"] = "green"
    assert _fields(rec) == ["road-mask-ref-metadata.internal-color-map.1.hex-color"]
    rec = _mixed("road-mask-ref")
    rec["road-mask"] = rec.pop("road-mask-ref")
    rec["road-mask-metadata"] = rec.pop("road-mask-ref-metadata")
    assert _fields(rec) == ["road-mask"]
    rec = _mixed("people-places")
    rec["people-places"]["annotations"]["entities"][0]["label"] = "ANIMAL"
    assert _fields(rec) == ["people-places.annotations.entities[0].label"]
    rec = _mixed("people-places")
    rec["people-places"]["annotations"]["entities"][0]["startOffset"] = 9
    assert _fields(rec) == ["people-places.annotations.entities[0]"]
    rec = _mixed("people-places")
    rec["people-places-metadata"]["entities"].pop()
    assert _fields(rec) == ["people-places-metadata.entities"]


def test_failed_objects_are_valid_and_attribute_can_be_required() -> None:
    lines = (DATA / "pier.manifest").read_text().splitlines()
    failed = json.loads(lines[4])
    assert validate_record(failed) == []
    assert _fields({"source": "a"}, attribute="pier") == ["pier"]


def test_validate_transform_rejects_with_location() -> None:
    lines = (DATA / "pier.manifest").read_text().splitlines()
    broken = json.loads(lines[1])
    broken["pier-metadata"]["objects"] = broken["pier-metadata"]["objects"][:1]
    lines[1] = json.dumps(broken)
    acc = Accounting(on_error="collect")
    kept = list(validate(read(lines, accounting=acc, name="pier.manifest"), accounting=acc))
    assert len(kept) == len(lines) - 1
    (rej,) = acc.rejections
    assert (rej.source, rej.lineno, rej.field) == ("pier.manifest", 2, "pier-metadata.objects")
    with pytest.raises(
        InvalidLineError,
        match=r"pier.manifest:2: pier-metadata.objects: 1 object for 3 annotations$",
    ):
        list(validate(read(lines, name="pier.manifest")))


@pytest.mark.parametrize(
    ("name", "task_type", "ok"),
    [
        ("birds", "groundtruth/object-detection", True),
        ("birds-ref", "groundtruth/object-detection", False),
        ("mask-ref", "groundtruth/semantic-segmentation", True),
        ("mask", "groundtruth/semantic-segmentation", False),
        ("tracks", "groundtruth/video-object-tracking", False),
        ("anything-ref", "groundtruth/custom", True),
        ("birds-metadata", None, False),
        ("source", None, False),
        ("source-ref", None, False),
        ("a$b", None, False),
        ("", None, False),
    ],
)
def test_attribute_naming_rules(name: str, task_type: str | None, ok: bool) -> None:
    assert (attribute_name_problems(name, task_type) == []) is ok
    if not ok:
        with pytest.raises(InvalidNameError):
            check_attribute_name(name, task_type)


def test_validate_does_not_modify_records() -> None:
    rec = _pier()
    before = copy.deepcopy(rec)
    validate_record(rec)
    assert rec == before


@pytest.mark.shared
def test_korean_chain_is_valid_line_by_line() -> None:
    path = dataset_path("groundtruth", "korean-layout-od-chain", "output.manifest")
    for rec in read(path):
        assert validate_record(rec) == []
