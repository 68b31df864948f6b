"""Streaming transforms: filter, drop / rename / remap classes, rename attribute, audits, split."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from manifests import (
    Accounting,
    ClassCatalog,
    FieldError,
    InvalidLineError,
    InvalidNameError,
    ManifestError,
    Record,
    compact_id_map,
    compute_stats,
    drop_classes,
    dumps,
    filter_records,
    label_category_document,
    parse_label_categories,
    read,
    remap_ids,
    remap_labels,
    rename_attribute,
    rename_classes,
    renamed_labels,
    scan_classes,
    split,
    to_adjustment,
    to_verification,
    validate_record,
    write,
    write_label_categories,
)
from tests.conftest import dataset_path

DATA = Path(__file__).parent / "data" / "manifests"
KOREAN = "suneung-korean-layout-detection-v2"

# Reference section 5.1, "before" and "after removing duck (S5 behaviour)", verbatim.
BEFORE_5_1 = """{"source-ref": "s3://b/i1.jpg",
 "pier": {"image_size": [{"width": 640, "height": 480, "depth": 3}],
          "annotations": [{"class_id": 0, "left": 5, "top": 5, "width": 50, "height": 40},
                          {"class_id": 2, "left": 300, "top": 90, "width": 30, "height": 30}]},
 "pier-metadata": {"objects": [{"confidence": 0.9}, {"confidence": 0.4}],
                   "class-map": {"0": "heron", "2": "duck"}, "type": "groundtruth/object-detection",
                   "human-annotated": "yes", "creation-date": "2024-03-02T11:42:05.730112", "job-name": "labeling-job/pier"}}"""  # noqa: E501
AFTER_5_1 = """{"source-ref": "s3://b/i1.jpg",
 "pier": {"image_size": [{"width": 640, "height": 480, "depth": 3}],
          "annotations": [{"class_id": 0, "left": 5, "top": 5, "width": 50, "height": 40}]},
 "pier-metadata": {"objects": [{"confidence": 0.9}], "class-map": {"0": "heron"},
                   "type": "groundtruth/object-detection", "human-annotated": "yes",
                   "creation-date": "2024-03-02T11:42:05.730112", "job-name": "labeling-job/pier",
                   "adjustment-status": "adjusted"}}"""


def _one_line(text: str) -> str:
    return dumps(json.loads(text))


def _run(
    transform: Any, lines: list[str] | Path, **kwargs: Any
) -> tuple[list[dict[str, Any]], Accounting]:
    acc = Accounting(on_error="collect")
    out = io.StringIO()
    write(transform(read(lines, accounting=acc), accounting=acc, **kwargs), out, accounting=acc)
    acc.check()
    return [json.loads(x) for x in out.getvalue().split("\n")[:-1]], acc


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


# ------------------------------------------------------------------------------------------------
# drop-classes
# ------------------------------------------------------------------------------------------------


def test_drop_classes_reproduces_reference_section_5_1() -> None:
    out, acc = _run(drop_classes, [_one_line(BEFORE_5_1)], classes=["duck"], mark_adjusted=True)
    assert dumps(out[0]) == _one_line(AFTER_5_1)  # same values and key order
    assert acc.counters["boxes removed"] == 1


def test_drop_classes_without_marking_leaves_adjustment_status_alone() -> None:
    out, acc = _run(drop_classes, DATA / "pier.manifest", classes=["duck"], attribute="pier")
    assert acc.counters["boxes removed"] == 3
    assert [len(r["pier"]["annotations"]) for r in out if "pier" in r] == [1, 1, 1, 0, 1]
    assert all("adjustment-status" not in r["pier-metadata"] for r in out)
    assert out[4] == json.loads(_lines(DATA / "pier.manifest")[4])  # failed object untouched
    assert acc.summary().startswith("read 6, written 6, filtered 0, rejected 0")


def _assert_aligned(rec: dict[str, Any], attr: str) -> None:
    anns = rec[attr]["annotations"]
    meta = rec[attr + "-metadata"]
    assert len(anns) == len(meta["objects"])
    assert {str(a["class_id"]) for a in anns} <= set(meta["class-map"])


@pytest.mark.shared
def test_drop_classes_od_birds_yolov5() -> None:
    path = dataset_path("groundtruth", "od-birds-yolov5", "output.manifest")
    before = [json.loads(x) for x in _lines(path)]
    out, acc = _run(drop_classes, path, classes=["Bird"], attribute="category")
    assert len(out) == len(before) == 100
    assert acc.counters["boxes removed"] == 192
    for old, new in zip(before, out, strict=True):
        _assert_aligned(new, "category")
        assert new["category"]["annotations"] == []
        assert new["category-metadata"]["class-map"] == {}
        assert new["category"]["image_size"] == old["category"]["image_size"]
        assert {k: v for k, v in new.items() if k != "category" and k != "category-metadata"} == {
            k: v for k, v in old.items() if k != "category" and k != "category-metadata"
        }


@pytest.mark.shared
def test_drop_classes_korean_chain_touches_only_the_named_attribute() -> None:
    path = dataset_path("groundtruth", "korean-layout-od-chain", "output.manifest")
    before = [json.loads(x) for x in _lines(path)]
    chain = f"{KOREAN}-chain"
    out, acc = _run(drop_classes, path, classes=["figure", "footer"], attribute=chain)
    expected_removed = sum(
        1
        for rec in before
        for box in rec[chain]["annotations"]
        if rec[chain + "-metadata"]["class-map"][str(box["class_id"])] in ("figure", "footer")
    )
    assert acc.counters["boxes removed"] == expected_removed == 428 + 2164
    assert len(out) == len(before) == 404
    for old, new in zip(before, out, strict=True):
        _assert_aligned(new, chain)
        assert list(new) == list(old)  # key order kept
        assert new[KOREAN] == old[KOREAN]  # the original job's label is not touched
        assert new[KOREAN + "-metadata"] == old[KOREAN + "-metadata"]
        kept = [
            (box, obj)
            for box, obj in zip(
                old[chain]["annotations"], old[chain + "-metadata"]["objects"], strict=True
            )
            if old[chain + "-metadata"]["class-map"][str(box["class_id"])]
            not in ("figure", "footer")
        ]
        assert new[chain]["annotations"] == [b for b, _ in kept]
        assert new[chain + "-metadata"]["objects"] == [o for _, o in kept]
        assert set(new[chain + "-metadata"]["class-map"].values()) <= {
            "header",
            "passage",
            "question_block",
            "question_number",
        }
        assert validate_record(new) == []


@pytest.mark.shared
def test_drop_classes_needs_an_attribute_when_a_line_has_two() -> None:
    path = dataset_path("groundtruth", "korean-layout-od-chain", "output.manifest")
    with pytest.raises(InvalidLineError, match="<labels>: 2 label attributes"):
        list(drop_classes(read(path), ["figure"]))


def test_drop_classes_rejects_misaligned_lines_without_changing_them() -> None:
    lines = _lines(DATA / "pier.manifest")
    rec = json.loads(lines[1])
    rec["pier-metadata"]["objects"].pop()
    lines[1] = json.dumps(rec)
    out, acc = _run(drop_classes, lines, classes=["duck"])
    assert acc.rejected == 1
    assert acc.rejections[0].field == "pier-metadata.objects"
    assert len(out) == 5


def test_drop_classes_classification_multilabel_and_spans() -> None:
    lines = _lines(DATA / "mixed-types.manifest")
    out, acc = _run(drop_classes, lines[:1], classes=["Parrot"])
    assert (out, acc.filtered) == ([], 1)
    out, acc = _run(drop_classes, lines[:1], classes=["Parrot"], drop_lines=False)
    assert list(out[0]) == ["source-ref"]
    assert acc.counters["labels removed"] == 1
    out, acc = _run(drop_classes, lines[2:3], classes=["bicycle"])
    meta = out[0]["street-tags-metadata"]
    assert (out[0]["street-tags"], meta["class-map"], meta["confidence-map"]) == (
        [0],
        {"0": "pedestrian"},
        {"0": 0.34},
    )
    out, acc = _run(drop_classes, lines[3:4], classes=["PERSON"])
    ann = out[0]["people-places"]["annotations"]
    assert ann["entities"] == [{"label": "CITY", "startOffset": 17, "endOffset": 23}]
    assert ann["labels"] == [{"label": "CITY", "shortDisplayName": "cty"}]
    assert out[0]["people-places-metadata"]["entities"] == [{"confidence": 0.67}]
    assert validate_record(out[0]) == []
    out, acc = _run(drop_classes, lines[4:5], classes=["lane"])
    assert acc.rejected == 1
    assert "semantic-segmentation" in acc.rejections[0].reason
    with pytest.raises(ValueError, match="at least one"):
        list(drop_classes(read(lines), []))


# ------------------------------------------------------------------------------------------------
# filter
# ------------------------------------------------------------------------------------------------


def _sources(out: list[dict[str, Any]]) -> list[str]:
    return [r["source-ref"][-6:] for r in out]


def test_filter_rules() -> None:
    path = DATA / "pier.manifest"
    assert _sources(_run(filter_records, path, min_confidence=0.5)[0]) == ["i3.jpg", "i6.jpg"]
    out, acc = _run(filter_records, path, min_confidence=0.5, confidence_of="mean")
    assert _sources(out) == ["i1.jpg", "i2.jpg", "i3.jpg", "i6.jpg"]
    assert acc.filtered == 2
    assert _sources(_run(filter_records, path, max_confidence=0.5, confidence_of="max")[0]) == []
    assert _sources(_run(filter_records, path, human_annotated=False)[0]) == ["i6.jpg"]
    assert _sources(_run(filter_records, path, has_classes=["duck"])[0]) == ["i1.jpg", "i2.jpg"]
    assert _sources(_run(filter_records, path, without_classes=["duck", "gull"])[0]) == [
        "i1.jpg"[:0] + "i4.jpg",
        "i5.jpg",
        "i6.jpg",
    ]
    assert _sources(_run(filter_records, path, status=["failed"])[0]) == ["i5.jpg"]
    assert _sources(_run(filter_records, path, attribute="other", status=["unlabelled"])[0]) == [
        f"i{k}.jpg" for k in range(1, 7)
    ]
    assert len(_run(filter_records, path, adjustment_status=["none"])[0]) == 6
    assert _run(filter_records, path, adjustment_status=["adjusted"])[0] == []
    out, _ = _run(filter_records, path, predicate=lambda r: r["source-ref"].endswith("2.jpg"))
    assert _sources(out) == ["i2.jpg"]


def test_filter_rejects_bad_values_and_parameters() -> None:
    line = json.loads(_lines(DATA / "pier.manifest")[0])
    line["pier-metadata"]["objects"][0]["confidence"] = "high"
    out, acc = _run(filter_records, [json.dumps(line)], min_confidence=0.1)
    assert out == []
    assert acc.rejections[0].field == "pier-metadata.objects[0].confidence"
    for bad in ({"status": ["done"]}, {"adjustment_status": ["x"]}, {"confidence_of": "median"}):
        with pytest.raises(ValueError, match="must"):
            list(filter_records([], **bad))


@pytest.mark.shared
def test_filter_adjustment_status_on_real_chain() -> None:
    path = dataset_path("groundtruth", "korean-layout-od-chain", "output.manifest")
    out, acc = _run(
        filter_records, path, attribute=f"{KOREAN}-chain", adjustment_status=["unadjusted"]
    )
    assert (len(out), acc.filtered) == (104, 300)
    for rec in out:
        assert rec[KOREAN]["annotations"] == rec[f"{KOREAN}-chain"]["annotations"]


# ------------------------------------------------------------------------------------------------
# rename / merge classes, remap ids
# ------------------------------------------------------------------------------------------------


def test_rename_classes_names_only() -> None:
    out, acc = _run(rename_classes, DATA / "pier.manifest", mapping={"gull": "seagull"})
    assert out[1]["pier-metadata"]["class-map"] == {"2": "duck", "1": "seagull"}
    assert acc.counters["lines renamed"] == 2  # the two lines with a gull; the others as read
    with pytest.raises(ValueError, match="needs the label list"):
        rename_classes([], {"duck": "bird", "heron": "bird"})
    out, acc = _run(rename_classes, DATA / "pier.manifest", mapping={"gull": "duck"})
    assert acc.rejected == 1
    assert "merging classes needs the label list" in acc.rejections[0].reason


def test_rename_classes_merges_with_the_label_list() -> None:
    labels = parse_label_categories((DATA / "pier-labels.json").read_text())
    assert labels == ["heron", "gull", "duck"]
    new_labels, id_map = renamed_labels(labels, {"duck": "bird", "heron": "bird"})
    assert (new_labels, id_map) == (["bird", "gull"], {0: 0, 1: 1, 2: 0})
    out, acc = _run(
        rename_classes,
        DATA / "pier.manifest",
        mapping={"duck": "bird", "heron": "bird"},
        labels=labels,
    )
    assert out[0]["pier"]["annotations"][1]["class_id"] == 0
    assert out[0]["pier-metadata"]["class-map"] == {"0": "bird"}
    assert out[1]["pier-metadata"]["class-map"] == {"0": "bird", "1": "gull"}
    assert [b["class_id"] for b in out[1]["pier"]["annotations"]] == [0, 1, 0]
    assert all(validate_record(r) == [] for r in out)
    mixed = _lines(DATA / "mixed-types.manifest")
    out, _ = _run(
        rename_classes,
        mixed[2:3],
        mapping={"bicycle": "thing", "pedestrian": "thing"},
        labels=["pedestrian", "car", "bicycle"],
    )
    assert out[0]["street-tags"] == [0]
    assert out[0]["street-tags-metadata"]["confidence-map"] == {"0": 0.91}
    out, acc = _run(rename_classes, mixed[:1], mapping={"Parrot": "Parakeet"}, labels=["Parrot"])
    assert acc.rejections[0].reason == "class id 4 is not in the label list"
    with pytest.raises(ValueError, match="not in the label list"):
        rename_classes([], {"emu": "bird"}, labels=["heron"])


def test_rename_classes_other_task_types() -> None:
    mixed = _lines(DATA / "mixed-types.manifest")
    out, _ = _run(rename_classes, mixed[3:4], mapping={"CITY": "PLACE"})
    ann = out[0]["people-places"]["annotations"]
    assert [e["label"] for e in ann["entities"]] == ["PERSON", "PERSON", "PLACE"]
    assert [x["label"] for x in ann["labels"]] == ["PERSON", "PLACE"]
    out, _ = _run(rename_classes, mixed[4:5], mapping={"lane": "road"})
    assert out[0]["road-mask-ref-metadata"]["internal-color-map"]["1"]["class-name"] == "road"
    out, acc = _run(rename_classes, mixed[4:5], mapping={"lane": "BACKGROUND"})
    assert acc.rejected == 1
    out, _ = _run(rename_classes, mixed[1:2], mapping={"positive": "good"})
    assert (out[0]["tone"], out[0]["tone-metadata"]["class-name"]) == ("1", "good")


def test_remap_ids_compact_rewrites_every_occurrence() -> None:
    # after dropping gull (id 1), ids {0, 2} remain: compact them to {0, 1}
    dropped, _ = _run(drop_classes, DATA / "pier.manifest", classes=["gull"])
    lines = [dumps(r) for r in dropped]
    catalog = scan_classes(read(lines))
    assert catalog.ids() == [0, 2]
    id_map = compact_id_map(catalog.ids())
    assert id_map == {0: 0, 2: 1}
    out, acc = _run(remap_ids, lines, id_map=id_map)
    assert acc.rejected == 0
    for rec in out:
        assert validate_record(rec) == []
        if "pier" in rec:
            assert {b["class_id"] for b in rec["pier"]["annotations"]} <= {0, 1}
            assert set(rec["pier-metadata"]["class-map"]) <= {"0", "1"}
    assert out[0]["pier-metadata"]["class-map"] == {"0": "heron", "1": "duck"}
    assert remap_labels(catalog.labels(allow_holes=True), id_map, drop_unmapped=True) == [
        "heron",
        "duck",
    ]


def test_remap_ids_multilabel_classification_segmentation() -> None:
    mixed = _lines(DATA / "mixed-types.manifest")
    out, _ = _run(remap_ids, mixed, id_map={2: 1, 4: 0, 1: 2, 0: 3})
    by_attr = {
        next(k for k in r if k.endswith("-metadata") and "Info" not in str(r[k]))[:-9]: r
        for r in out
    }
    tags = by_attr["street-tags"]
    assert tags["street-tags"] == [1, 3]
    assert tags["street-tags-metadata"]["class-map"] == {"1": "bicycle", "3": "pedestrian"}
    assert tags["street-tags-metadata"]["confidence-map"] == {"1": 0.91, "3": 0.34}
    assert by_attr["bird-species"]["bird-species"] == 0
    assert by_attr["tone"]["tone"] == "2"  # string labels stay strings
    assert set(by_attr["road-mask-ref"]["road-mask-ref-metadata"]["internal-color-map"]) == {
        "3",
        "2",
    }
    assert by_attr["tracks-ref"]["tracks-ref-metadata"]["class-map"] == {"3": "car", "2": "bus"}
    assert by_attr["birds-check"]["birds-check"] == "3"
    assert by_attr["people-places"] == json.loads(mixed[3])  # no ids in NER
    assert all(validate_record(r) == [] for r in out)


def test_remap_ids_collisions() -> None:
    with pytest.raises(ValueError, match="same id"):
        remap_ids([], {0: 1, 2: 1})
    _, acc = _run(remap_ids, DATA / "pier.manifest", id_map={2: 1})
    # lines 2 and 3 use id 1, which stays 1 while 2 -> 1: ambiguous, so both are rejected
    assert acc.rejected == 2
    assert "mapped to 1" in acc.rejections[0].reason
    with pytest.raises(ValueError, match="no class gets id 1"):
        remap_labels(["a", "b", "c"], {1: 5})


@pytest.mark.shared
def test_remap_ids_compact_on_real_files(tmp_path: Path) -> None:
    for name, attr in (("ocr-od-zh", "pid-label-job"), ("vehicle-ic-10", "vehicle-labeling-demo")):
        path = dataset_path("groundtruth", name, "output.manifest")
        catalog = scan_classes(read(path), attr)
        id_map = compact_id_map(catalog.ids())
        assert sorted(id_map.values()) == list(range(len(id_map)))
        out, acc = _run(remap_ids, path, id_map=id_map, attribute=attr)
        assert acc.rejected == 0
        assert len(out) == acc.read
        names_by_new: dict[int, set[str]] = {}
        for old, new in id_map.items():
            names_by_new.setdefault(new, set()).add(catalog.names[old])
        for rec in out:
            assert validate_record(rec) == []
            meta = rec[attr + "-metadata"]
            if "class-map" in meta:
                for key, name in meta["class-map"].items():
                    assert names_by_new[int(key)] == {name}
                assert {str(b["class_id"]) for b in rec[attr]["annotations"]} == set(
                    meta["class-map"]
                )
            else:
                assert names_by_new[rec[attr]] == {meta["class-name"]}
        labels_out = tmp_path / f"{name}.json"
        write_label_categories(remap_labels(catalog.names, id_map, drop_unmapped=True), labels_out)
        doc = json.loads(labels_out.read_text(encoding="utf-8"))
        assert doc["document-version"] == "2018-11-28"
        assert [x["label"] for x in doc["labels"]] == [catalog.names[old] for old in sorted(id_map)]


# ------------------------------------------------------------------------------------------------
# rename attribute, audit inputs
# ------------------------------------------------------------------------------------------------


def test_rename_attribute_keeps_key_order_and_checks_names() -> None:
    out, acc = _run(rename_attribute, DATA / "pier.manifest", old="pier", new="birds")
    assert next(list(r) for r in out) == ["source-ref", "birds", "birds-metadata"]
    assert list(out[4]) == ["source-ref", "birds-metadata"]  # failed object: metadata only
    assert acc.counters == {"renamed": 6}
    with pytest.raises(InvalidNameError):
        list(rename_attribute([], "pier", "pier-metadata"))
    out, acc = _run(rename_attribute, DATA / "pier.manifest", old="pier", new="pier-ref")
    assert acc.rejected == 6
    assert "must not end with '-ref'" in acc.rejections[0].reason
    mixed = _lines(DATA / "mixed-types.manifest")
    out, acc = _run(rename_attribute, mixed, old="road-mask-ref", new="road-ref")
    assert acc.counters == {"without attribute": 7, "renamed": 1}
    clash = json.loads(mixed[0])
    clash["tone"] = 1
    out, acc = _run(rename_attribute, [json.dumps(clash)], old="bird-species", new="tone")
    assert acc.rejections[0].reason == "the line already has this attribute"


@pytest.mark.shared
def test_to_adjustment_on_chained_job(tmp_path: Path) -> None:
    path = dataset_path("groundtruth", "korean-layout-od-chain", "output.manifest")
    catalog = ClassCatalog()
    out, acc = _run(
        to_adjustment, path, attribute=f"{KOREAN}-chain", drop_other_labels=True, catalog=catalog
    )
    assert len(out) == 404
    assert acc.rejected == 0
    assert all(
        list(r) == ["source-ref", f"{KOREAN}-chain", f"{KOREAN}-chain-metadata"] for r in out
    )
    assert catalog.labels() == [
        "header",
        "passage",
        "question_block",
        "question_number",
        "figure",
        "footer",
    ]
    assert catalog.document(["table"])["labels"][-1] == {"label": "table"}


def test_to_adjustment_and_verification_checks() -> None:
    out, acc = _run(to_adjustment, DATA / "pier.manifest", attribute="pier")
    assert len(out) == 5
    assert acc.rejected == 1
    assert acc.rejections[0].reason == "failed object: no label value to review"
    out, acc = _run(to_verification, DATA / "mixed-types.manifest", attribute="street-tags")
    assert len(out) == 1
    assert acc.rejected == 7
    semseg = json.loads(_lines(DATA / "pcb-semseg-1.manifest")[0])
    out, acc = _run(to_adjustment, [json.dumps(semseg)], attribute="S10-label3-ref")
    assert len(out) == 1
    del semseg["S10-label3-ref-metadata"]["internal-color-map"]["2"]["hex-color"]
    out, acc = _run(to_adjustment, [json.dumps(semseg)], attribute="S10-label3-ref")
    assert acc.rejections[0].field.endswith("internal-color-map.2.hex-color")
    with pytest.raises(ValueError, match="different"):
        list(to_adjustment([], "pier", new_attribute="pier"))


# ------------------------------------------------------------------------------------------------
# split and stats
# ------------------------------------------------------------------------------------------------


def test_split_is_deterministic_and_complete() -> None:
    lines = [json.dumps({"source-ref": f"s3://b/{i}.jpg", "i": i}) for i in range(2000)]
    parts = [
        (n, r["i"]) for n, r in split(read(lines), {"train": 0.7, "val": 0.2, "test": 0.1}, seed=3)
    ]
    again = [
        (n, r["i"])
        for n, r in split(read(lines[::-1]), [("train", 0.7), ("val", 0.2), ("test", 0.1)], seed=3)
    ]
    assert sorted(parts) == sorted(again)  # by content, not position
    counts = Counter(n for n, _ in parts)
    assert sum(counts.values()) == 2000
    assert abs(counts["train"] - 1400) < 100
    assert abs(counts["test"] - 200) < 60
    other = [n for n, _ in split(read(lines), {"train": 0.7, "val": 0.2, "test": 0.1}, seed=4)]
    assert other != [n for n, _ in parts]
    acc = Accounting()
    sample = list(split(read(lines, accounting=acc), {"sample": 0.1}, accounting=acc))
    assert acc.filtered + len(sample) == 2000
    dupes = list(split(read(lines[:1] * 5), {"a": 0.5, "b": 0.5}))
    assert len({n for n, _ in dupes}) == 1
    for bad in ({"a": 0.8, "b": 0.3}, {"a": -0.1}, {}):
        with pytest.raises(ValueError, match=r"fraction|part"):
            list(split([], bad))


def test_split_by_key_rejects_lines_without_it() -> None:
    acc = Accounting(on_error="collect")
    lines = ['{"source": "a", "group": "g1"}', '{"source": "b"}']
    out = list(split(read(lines, accounting=acc), {"x": 1.0}, key="group", accounting=acc))
    assert len(out) == 1
    assert acc.rejections[0].field == "group"


def test_stats_count_what_the_lines_hold() -> None:
    # pier.manifest plus a copy of its first line marked adjusted, counted by hand from the JSON.
    lines = (DATA / "pier.manifest").read_text(encoding="utf-8").splitlines()
    adjusted = json.loads(lines[0])
    adjusted["source-ref"] = "s3://b/i7.jpg"
    adjusted["pier-metadata"]["adjustment-status"] = "adjusted"
    lines.append(json.dumps(adjusted))
    docs = [json.loads(x) for x in lines]
    bins = 4
    classes: Counter[str] = Counter()
    per_image: Counter[int] = Counter()
    confs, human, labelled, failed = [], Counter(), 0, 0
    for doc in docs:
        meta = doc["pier-metadata"]
        if "pier" not in doc:
            failed += 1
            continue
        labelled += 1
        human[meta["human-annotated"]] += 1
        boxes = doc["pier"]["annotations"]
        classes.update(meta["class-map"][str(b["class_id"])] for b in boxes)
        per_image[len(boxes)] += 1
        confs += [o["confidence"] for o in meta["objects"]]
    hist = [0] * bins
    for c in confs:
        hist[min(bins - 1, int(c * bins))] += 1

    stats = compute_stats(read(lines), bins=bins)
    assert stats.lines == len(lines) == 7
    got = stats.attributes["pier"].to_dict()
    assert (got["labelled"], got["failed"]) == (labelled, failed) == (6, 1)
    assert got["human_annotated"] == {"yes": human["yes"], "no": human["no"]} == {"yes": 5, "no": 1}
    assert got["classes"] == dict(classes)
    assert got["boxes_per_image"] == {str(k): v for k, v in sorted(per_image.items())}
    assert got["confidence"] == {
        "count": len(confs),
        "mean": round(sum(confs) / len(confs), 6),
        "min": min(confs),
        "max": max(confs),
        "histogram": hist,
    }
    assert hist == [0, 3, 1, 5]  # 0.35, 0.4, 0.4 | 0.55 | 0.77, 0.81, 0.9, 0.9, 0.92
    assert got["adjustment_status"] == {"adjusted": 1}
    assert got["types"] == {"groundtruth/object-detection": 7}


@pytest.mark.shared
def test_stats_on_real_files() -> None:
    st = compute_stats(read(dataset_path("groundtruth", "od-birds-yolov5", "output.manifest")))
    cat = st.attributes["category"]
    assert (st.lines, cat.labelled, dict(cat.classes)) == (100, 100, {"Bird": 192})
    assert dict(cat.boxes_per_image) == {1: 80, 2: 13, 3: 3, 6: 1, 7: 1, 31: 1, 33: 1}
    assert cat.confidence_count == 192
    assert sum(cat.confidence_histogram) == 192
    assert (cat.human, cat.auto) == (100, 0)
    st = compute_stats(read(dataset_path("groundtruth", "birds-ic-mturk5", "output.manifest")))
    birds = st.attributes["birds-open-images-clone"]
    assert birds.confidence_histogram[-1] == 299  # 0.95 x297, 0.93, 0.94 (0.86, 0.65, 0.60 below)
    assert sum(birds.classes.values()) == 302
    st = compute_stats(
        read(dataset_path("groundtruth", "korean-layout-od-chain", "output.manifest"))
    )
    assert dict(st.attributes[f"{KOREAN}-chain"].adjustment) == {"adjusted": 300, "unadjusted": 104}


def test_stats_mixed_and_json() -> None:
    st = compute_stats(read(DATA / "mixed-types.manifest"))
    assert st.attributes["people-places"].classes == Counter({"PERSON": 2, "CITY": 1})
    assert st.attributes["road-mask-ref"].classes == Counter({"BACKGROUND": 1, "lane": 1})
    doc = st.to_dict()
    json.dumps(doc)
    assert doc["data_keys"] == {"source-ref": 6, "source": 2}
    assert "people-places" in st.format()
    st = compute_stats(read(DATA / "pier.manifest"), attribute="pier")
    assert (st.attributes["pier"].failed, st.attributes["pier"].labelled) == (1, 5)
    with pytest.raises(ValueError, match="bins"):
        compute_stats([], bins=0)


def test_label_category_helpers(tmp_path: Path) -> None:
    doc = label_category_document(["a", "é"])
    path = tmp_path / "labels.json"
    write_label_categories(["a", "é"], path)
    assert json.loads(path.read_text(encoding="utf-8")) == doc
    assert parse_label_categories(path.read_text(encoding="utf-8")) == ["a", "é"]
    cat = ClassCatalog()
    cat.add(0, "a")
    cat.add(0, "b")
    # a ManifestError naming the id and both names, not any exception mentioning them
    with pytest.raises(ManifestError, match=r"class id 0 has several names: \['a', 'b'\]"):
        cat.labels()


def test_rejections_chain_the_field_error() -> None:
    rec = Record(
        {"source": "x", "t": "nope", "t-metadata": {"type": "groundtruth/text-classification"}},
        source="in.manifest",
        lineno=9,
    )
    with pytest.raises(InvalidLineError) as info:
        next(drop_classes([rec], ["y"]))
    assert str(info.value).startswith("in.manifest:9: t: expected a class id")
    assert isinstance(info.value.__cause__, FieldError)


def test_class_edits_leave_untouched_lines_byte_for_byte_and_uncounted() -> None:
    import io

    from manifests import Accounting, read, remap_ids, rename_classes, write

    untouched = (
        '{"source": "a", "t": 0, "t-metadata": {"class-name": "no", '
        '"type": "groundtruth/text-classification"}}'
    )
    touched = untouched.replace('"no"', '"yes"').replace('"t": 0', '"t": 1')
    for edit, counter in (
        (lambda recs, acc: rename_classes(recs, {"yes": "Y"}, accounting=acc), "lines renamed"),
        (lambda recs, acc: remap_ids(recs, {1: 2}, accounting=acc), "lines remapped"),
    ):
        acc = Accounting()
        out = io.StringIO()
        write(edit(read([untouched, touched], accounting=acc), acc), out, accounting=acc)
        first, second = out.getvalue().splitlines()
        assert first == untouched  # as read, spaces and all
        assert second != touched
        assert acc.counters == {counter: 1}
        assert acc.balanced


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: rename_attribute(r, "a", "b-metadata"), "metadata"),
        (lambda r: rename_attribute(r, "a", "a"), "equals the old one"),
        (lambda r: to_adjustment(r, "a", new_attribute="a"), "different from"),
        (lambda r: filter_records(r, status=["nope"]), "status must be among"),
        (lambda r: filter_records(r, confidence_of="median"), "confidence_of"),  # type: ignore[arg-type]
        (lambda r: filter_records(r, has_classes="duck"), "not the string 'duck'"),
        (lambda r: filter_records(r, human_annotated="yes"), "human_annotated"),  # type: ignore[arg-type]
        (lambda r: split(r, {"a": 1.5}), "must be in"),
        (lambda r: drop_classes(r, []), "at least one class"),
        (lambda r: drop_classes(r, "duck"), "not the string 'duck'"),
    ],
)
def test_transforms_check_their_arguments_when_called(call: Any, message: str) -> None:
    consumed: list[int] = []

    def records() -> Iterator[Record]:
        consumed.append(1)
        yield from read(['{"source": "x"}'])

    with pytest.raises(ValueError, match=message):
        call(records())  # not on the first next(): at once, before any line is read
    assert consumed == []


def _box_record(confidence: Any) -> Record:
    """An object-detection line built in Python (read() would refuse NaN before any filter)."""
    return Record(
        {
            "source-ref": "s3://b/x.jpg",
            "box": {
                "annotations": [{"class_id": 0, "left": 1, "top": 1, "width": 2, "height": 2}],
                "image_size": [{"width": 10, "height": 10, "depth": 3}],
            },
            "box-metadata": {
                "objects": [{"confidence": confidence}],
                "class-map": {"0": "a"},
                "type": "groundtruth/object-detection",
                "human-annotated": "yes",
                "creation-date": "2020-01-01T00:00:00",
                "job-name": "j",
            },
        }
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_confidence_filter_rejects_non_finite_confidences_by_field(bad: float) -> None:
    # The fast path of a confidence-only filter must hand such a line to the label view, which
    # names the field, rather than compare NaN (never below a bound: it would be kept) or inf.
    keep = [_box_record(0.9)]
    assert len(list(filter_records(keep, attribute="box", min_confidence=0.5))) == 1
    message = rf"box-metadata\.objects\[0\]\.confidence: expected a finite number, got {bad}"
    with pytest.raises(InvalidLineError, match=message):
        list(filter_records([_box_record(bad)], attribute="box", min_confidence=0.5))
    acc = Accounting(on_error="skip")
    lines = [_box_record(0.9), _box_record(bad), _box_record(0.2)]
    kept = list(filter_records(lines, attribute="box", min_confidence=0.5, accounting=acc))
    assert len(kept) == 1
    assert (acc.filtered, acc.rejected) == (1, 1)
