"""Label detection and the typed views of every task type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from manifests import (
    Box,
    BoxLabel,
    ClassificationLabel,
    CustomLabel,
    Entity,
    FieldError,
    ImageSize,
    MultiLabel,
    Record,
    SegmentationLabel,
    SpanLabel,
    VerificationLabel,
    VideoLabel,
    read,
)
from tests.conftest import dataset_path

DATA = Path(__file__).parent / "data" / "manifests"


def _mixed() -> dict[str, Record]:
    return {r.label_attributes()[0]: r for r in read(DATA / "mixed-types.manifest")}


def test_every_task_type_gets_its_view() -> None:
    recs = _mixed()
    kinds = {attr: type(rec.labels()[0]) for attr, rec in recs.items()}
    assert kinds == {
        "bird-species": ClassificationLabel,
        "tone": ClassificationLabel,
        "street-tags": MultiLabel,
        "people-places": SpanLabel,
        "road-mask-ref": SegmentationLabel,
        "birds-check": VerificationLabel,
        "tracks-ref": VideoLabel,
        "entities-job": CustomLabel,
    }


def test_classification_int_and_string_labels() -> None:
    recs = _mixed()
    parrot = recs["bird-species"].label("bird-species")
    tone = recs["tone"].label("tone")
    assert isinstance(parrot, ClassificationLabel)
    assert isinstance(tone, ClassificationLabel)
    assert (parrot.label_id, parrot.class_name, parrot.confidence) == (4, "Parrot", 0.95)
    assert (tone.label_id, tone.class_name, tone.confidence) == (1, "positive", 0.67)
    assert parrot.human_annotated is True
    assert parrot.job_name == "labeling-job/bird-species"
    assert parrot.creation_date == "2024-03-02T09:15:27.118204"
    assert parrot.type == "groundtruth/image-classification"
    assert parrot.class_names() == frozenset({"Parrot"})
    assert not parrot.failed


def test_optional_confidence_and_single_worker_conventions() -> None:
    rec = Record(
        {"source": "x", "t": 0, "t-metadata": {"class-name": "a", "job-name": "labeling-job/t"}}
    )
    lab = rec.label("t")
    assert isinstance(lab, ClassificationLabel)  # inferred without a type
    assert lab.confidence is None
    assert lab.confidences() == ()
    for conf in (0.09, 0, 0.0):
        rec = Record(
            {
                "source-ref": "s3://b/1.jpg",
                "c": {"image_size": [{"width": 5, "height": 5}], "annotations": [_box(0)]},
                "c-metadata": {
                    "objects": [{"confidence": conf}],
                    "class-map": {"0": "cat"},
                    "type": "groundtruth/object-detection",
                },
            }
        )
        box_lab = rec.label("c")
        assert isinstance(box_lab, BoxLabel)
        assert box_lab.confidences() == (conf,)


def _box(cid: Any, left: Any = 1, top: Any = 2, width: Any = 3, height: Any = 4) -> dict[str, Any]:
    return {"class_id": cid, "left": left, "top": top, "width": width, "height": height}


def test_multilabel_view() -> None:
    lab = _mixed()["street-tags"].label("street-tags")
    assert isinstance(lab, MultiLabel)
    assert lab.label_ids == (2, 0)
    assert lab.class_map == {2: "bicycle", 0: "pedestrian"}
    assert lab.confidence_map == {2: 0.91, 0: 0.34}
    assert sorted(lab.confidences()) == [0.34, 0.91]
    assert lab.class_names() == frozenset({"bicycle", "pedestrian"})


def test_span_segmentation_verification_video_views() -> None:
    recs = _mixed()
    span = recs["people-places"].label("people-places")
    assert isinstance(span, SpanLabel)
    assert span.entities[1] == Entity("PERSON", 8, 13, 1.0)
    assert span.label_names == ("PERSON", "CITY")
    assert span.class_names() == frozenset({"PERSON", "CITY"})
    seg = recs["road-mask-ref"].label("road-mask-ref")
    assert isinstance(seg, SegmentationLabel)
    assert seg.mask_uri is not None
    assert seg.mask_uri.endswith(".png")
    assert seg.color_map[1].hex_color == "#2ca02c"
    assert seg.confidence == 0.81
    assert seg.class_ids() == (0, 1)
    ver = recs["birds-check"].label("birds-check")
    assert isinstance(ver, VerificationLabel)
    assert (ver.label_id, ver.class_name, ver.worker_feedback) == (
        0,
        "good",
        ("second heron missing",),
    )
    video = recs["tracks-ref"].label("tracks-ref")
    assert isinstance(video, VideoLabel)
    assert video.class_map == {0: "car", 1: "bus"}
    assert video.seq_label_uri is not None
    assert video.seq_label_uri.endswith("SeqLabel.json")
    custom = recs["entities-job"].label("entities-job")
    assert isinstance(custom, CustomLabel)
    assert custom.value == {"annotation-ref": "s3://legal/ann/doc1.json"}


def test_non_label_metadata_keys_are_not_labels() -> None:
    rec = _mixed()["entities-job"]
    assert rec.label_attributes() == ["entities-job"]
    assert rec.label("annotator") is None


@pytest.mark.shared
def test_legal_custom_entities_real_file() -> None:
    path = dataset_path("groundtruth", "legal-custom-entities", "output.manifest")
    for rec in read(path):
        assert rec.label_attributes() == ["legal-entity-label-job-labeling-job-20220104T172242"]
        (lab,) = rec.labels()
        assert isinstance(lab, CustomLabel)
        assert lab.job_name == "legal-entity-label-job-labeling-job-20220104t172242"


def test_metadata_without_value_is_a_failed_object() -> None:
    recs = list(read(DATA / "pier.manifest"))
    lab = recs[4].label("pier")
    assert isinstance(lab, BoxLabel)
    assert lab.failed
    assert not lab.has_value
    assert lab.boxes == ()
    assert lab.confidences() == ()
    assert recs[0].label("pier") is not None
    assert not recs[0].labels()[0].failed
    failed_reason = Record(
        {"source": "x", "a-metadata": {"job-name": "j", "failure-reason": "expired"}}
    )
    assert failed_reason.labels()[0].failed
    assert failed_reason.labels()[0].failure_reason == "expired"


def test_box_view_of_section_5_1_line() -> None:
    rec = next(iter(read(DATA / "pier.manifest")))
    lab = rec.label("pier")
    assert isinstance(lab, BoxLabel)
    assert lab.image_size == ImageSize(640, 480, 3)
    assert lab.boxes == (
        Box(0, 5, 5, 50, 40, 0.9, "heron"),
        Box(2, 300, 90, 30, 30, 0.4, "duck"),
    )
    assert lab.n_boxes == 2
    assert lab.class_ids() == (0, 2)
    assert lab.class_names() == frozenset({"heron", "duck"})
    assert not rec.modified  # reading views keeps the raw line


@pytest.mark.shared
def test_adjustment_status_on_chained_job() -> None:
    path = dataset_path("groundtruth", "korean-layout-od-chain", "output.manifest")
    rec = next(iter(read(path)))
    first, chain = rec.labels()
    assert (first.is_adjustment, chain.is_adjustment) == (False, True)
    assert chain.adjustment_status in ("adjusted", "unadjusted")


@pytest.mark.parametrize(
    ("record", "call", "field"),
    [
        ({"t": "x", "t-metadata": {"type": "groundtruth/text-classification"}}, "label_id", "t"),
        ({"t": True, "t-metadata": {"type": "groundtruth/text-classification"}}, "label_id", "t"),
        ({"t": -1, "t-metadata": {"type": "groundtruth/text-classification"}}, "label_id", "t"),
        (
            {"t": 1, "t-metadata": {"type": "groundtruth/text-classification", "confidence": "hi"}},
            "confidence",
            "t-metadata.confidence",
        ),
        (
            {"t": 1, "t-metadata": {"job-name": "j", "human-annotated": "maybe"}},
            "human_annotated",
            "t-metadata.human-annotated",
        ),
        (
            {
                "t": {"image_size": [{"width": 1, "height": 1}], "annotations": [_box(0)]},
                "t-metadata": {"type": "groundtruth/object-detection", "objects": []},
            },
            "boxes",
            "t-metadata.objects",
        ),
        (
            {
                "t": {"image_size": [{"width": 1, "height": 1}], "annotations": [_box("a")]},
                "t-metadata": {"type": "groundtruth/object-detection"},
            },
            "boxes",
            "t.annotations[0].class_id",
        ),
        (
            {
                "t": {
                    "image_size": [{"width": 1, "height": 1}],
                    "annotations": [_box(0, left=1e999)],
                },
                "t-metadata": {"type": "groundtruth/object-detection"},
            },
            "boxes",
            "t.annotations[0].left",
        ),
        (
            {
                "t": {"image_size": [{"width": 0, "height": 1}], "annotations": []},
                "t-metadata": {"type": "groundtruth/object-detection"},
            },
            "image_size",
            "t.image_size[0].width",
        ),
        (
            {
                "t": {"image_size": [], "annotations": []},
                "t-metadata": {"type": "groundtruth/object-detection"},
            },
            "image_size",
            "t.image_size",
        ),
        (
            {
                "t": {"image_size": [{"width": 1, "height": 1}], "annotations": []},
                "t-metadata": {
                    "type": "groundtruth/object-detection",
                    "objects": [{"confidence": True}],
                },
            },
            "confidences",
            "t-metadata.objects[0].confidence",
        ),
        (
            {
                "t": [0],
                "t-metadata": {
                    "type": "groundtruth/image-classification-multilabel",
                    "class-map": [],
                },
            },
            "class_map",
            "t-metadata.class-map",
        ),
    ],
)
def test_unusable_values_raise_field_error(record: dict[str, Any], call: str, field: str) -> None:
    lab = Record(record).label("t")
    assert lab is not None

    def access() -> None:
        value = getattr(lab, call)
        if callable(value):
            value()

    with pytest.raises(FieldError) as info:
        access()
    assert info.value.field == field


def test_views_hand_out_containers_only_by_marking_the_record() -> None:
    rec = next(iter(read(DATA / "pier.manifest")))
    lab = rec.labels()[0]
    lab.boxes  # noqa: B018
    assert not rec.modified
    lab.metadata["x"] = 1
    assert rec.modified


def test_repr_and_kind() -> None:
    rec = Record({"source": "x", "a-metadata": {"job-name": "j"}}, lineno=7)
    (lab,) = rec.labels()
    assert repr(lab) == "CustomLabel('a', line 7)"
    assert lab.kind == "custom"
    assert lab.metadata_key == "a-metadata"
