"""Property tests: generated manifests survive parse + write; pipelines never lose a line."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from manifests import (
    Accounting,
    drop_classes,
    filter_records,
    read,
    rename_attribute,
    validate,
    validate_record,
    write,
)

CLASSES = ["heron", "duck", "gull", "Ÿ", "a\u200bb"]

# any JSON text, including lone surrogates (they must come back as \\u escapes)
json_text = st.text(st.characters(codec=None, categories=None), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_text, inner, max_size=4),
    max_leaves=12,
)
coords = st.integers(0, 4000) | st.floats(0, 4000, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def od_label(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    ids = draw(st.lists(st.integers(0, len(CLASSES) - 1), max_size=5))
    anns = [
        {
            "class_id": i,
            "left": draw(coords),
            "top": draw(coords),
            "width": draw(coords),
            "height": draw(coords),
        }
        for i in ids
    ]
    objects = [{"confidence": draw(st.floats(0, 1).map(lambda x: round(x, 2)))} for _ in ids]
    meta = {
        "objects": objects,
        "class-map": {str(i): CLASSES[i] for i in ids},
        "type": "groundtruth/object-detection",
        "human-annotated": draw(st.sampled_from(["yes", "no"])),
        "creation-date": "2024-03-02T11:42:05.730112",
        "job-name": "labeling-job/a",
    }
    value = {"image_size": [{"width": 4096, "height": 4096, "depth": 3}], "annotations": anns}
    return value, meta


@st.composite
def classification_label(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    i = draw(st.integers(0, len(CLASSES) - 1))
    meta: dict[str, Any] = {"class-name": CLASSES[i], "type": "groundtruth/image-classification"}
    if draw(st.booleans()):
        meta["confidence"] = draw(st.sampled_from([0.0, 0.09, 0.5, 0.95]))
    meta["human-annotated"] = draw(st.sampled_from(["yes", "no"]))
    return draw(st.sampled_from([i, str(i)])), meta


@st.composite
def multilabel_label(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    ids = draw(st.lists(st.integers(0, len(CLASSES) - 1), unique=True, max_size=4))
    meta = {
        "class-map": {str(i): CLASSES[i] for i in ids},
        "confidence-map": {str(i): draw(st.sampled_from([0.2, 0.77, 0.95])) for i in ids},
        "type": "groundtruth/image-classification-multilabel",
    }
    return ids, meta


@st.composite
def manifest_record(draw: st.DrawFn) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    if draw(st.booleans()):
        rec["source-ref"] = "s3://bucket/" + draw(json_text)
    else:
        rec["source"] = draw(json_text)
    kind = draw(st.sampled_from(["od", "cls", "ml", "failed", "none"]))
    if kind in ("od", "cls", "ml"):
        strategy = {"od": od_label(), "cls": classification_label(), "ml": multilabel_label()}[kind]
        value, meta = draw(strategy)
        rec["a"] = value
        rec["a-metadata"] = meta
    elif kind == "failed":
        rec["a-metadata"] = {"type": "groundtruth/object-detection", "job-name": "labeling-job/a"}
    extra = draw(
        st.dictionaries(json_text.filter(lambda k: not k.startswith("a")), json_values, max_size=3)
    )
    for key, value in extra.items():
        rec.setdefault(key, value)
    return rec


@given(st.lists(manifest_record(), max_size=8))
def test_generated_manifests_survive_parse_then_write(records: list[dict[str, Any]]) -> None:
    first = io.StringIO()
    assert write(records, first) == len(records)
    text = first.getvalue()
    assert text.count("\n") == len(records)
    text.encode("utf-8")  # strictly valid UTF-8
    parsed = list(read(text.split("\n")[:-1]))
    assert [dict(r) for r in parsed] == records
    assert [list(r) for r in parsed] == [list(r) for r in records]
    again = io.StringIO()
    write(parsed, again)
    assert again.getvalue() == text  # verbatim copy of unchanged lines
    for rec in parsed:
        if rec.label("a") is not None and rec.label("a").has_value:  # type: ignore[union-attr]
            assert [p for p in validate_record(rec) if p.field != "source-ref"] == []


CORRUPTIONS = [
    "truncate",
    "wrong-type",
    "missing-key",
    "nan",
    "long",
    "blank",
    "not-object",
    "bad-utf8",
]


def _corrupt(line: str, rec: dict[str, Any], how: str, cut: int) -> str | bytes:
    if how == "truncate":
        return line[: max(1, min(cut, len(line) - 1))]
    if how == "nan":
        return line[:-1] + ', "nan": NaN}'
    if how == "long":
        return json.dumps({**rec, "pad": "x" * 100_001})
    if how == "blank":
        return "   "
    if how == "not-object":
        return json.dumps([rec])
    if how == "bad-utf8":
        return line.encode("utf-8", "surrogatepass")[:-1] + b'"\xff"}'
    rec = json.loads(line)
    meta = rec.get("a-metadata")
    if how == "wrong-type" and meta is not None:
        key = (
            "objects" if "objects" in meta else "class-map" if "class-map" in meta else "confidence"
        )
        meta[key] = "oops"
        if "a" in rec and isinstance(rec["a"], dict):
            rec["a"]["annotations"] = {"not": "a list"}
    elif how == "missing-key" and "a" in rec and isinstance(rec["a"], dict):
        rec["a"].pop("annotations", None)
    elif how == "missing-key":
        rec.pop("source-ref", None)
        rec.pop("source", None)
    return json.dumps(rec)


def _strict_object(item: str | bytes, limit: int = 100_000) -> bool:
    """Independent oracle: is this line a non-blank, valid, strict JSON object within the limit?"""
    try:
        text = item.decode("utf-8") if isinstance(item, bytes) else item
        if not text.strip() or len(text.strip()) > limit:
            return False

        def no_constants(name: str) -> None:
            raise ValueError(name)

        return isinstance(json.loads(text, parse_constant=no_constants), dict)
    except ValueError:
        return False


@given(
    st.lists(
        st.tuples(manifest_record(), st.sampled_from([None, *CORRUPTIONS]), st.integers(1, 400)),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["skip", "collect"]),
    st.floats(0, 1),
    st.booleans(),
)
def test_pipeline_never_loses_a_line(
    items: list[tuple[dict[str, Any], str | None, int]], policy: str, threshold: float, check: bool
) -> None:
    lines: list[str | bytes] = []
    for rec, how, cut in items:
        line = json.dumps(rec, ensure_ascii=False)
        lines.append(line if how is None else _corrupt(line, rec, how, cut))
    as_bytes = [x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass") for x in lines]
    acc = Accounting(on_error=policy)  # type: ignore[arg-type]
    records = read(as_bytes, accounting=acc)
    if check:
        records = validate(records, accounting=acc)
    records = filter_records(records, attribute="a", min_confidence=threshold, accounting=acc)
    records = drop_classes(records, ["duck"], attribute="a", accounting=acc)
    records = rename_attribute(records, "a", "b", accounting=acc)
    out = io.StringIO()
    written = write(records, out, accounting=acc)
    # the identity: every non-blank line is written, filtered by rule, or rejected
    assert acc.read == acc.written + acc.filtered + acc.rejected
    assert acc.read + acc.blank == len(lines)
    assert written == acc.written == len(out.getvalue().split("\n")[:-1])
    # the reader rejected exactly the lines that are not strict JSON objects
    not_objects = sum(not _strict_object(x) for x in as_bytes) - acc.blank
    assert acc.rejected >= not_objects
    if policy == "collect":
        assert len(acc.rejections) == acc.rejected
        assert all(r.lineno >= 1 and r.field for r in acc.rejections)
    for line in out.getvalue().split("\n")[:-1]:  # whatever was written is a strict JSON object
        assert _strict_object(line)
        assert "a-metadata" not in json.loads(line) or "b-metadata" in json.loads(line)


# Detection labels, clean and broken, for the confidence filter's shortcut (it judges clean
# object-detection lines from their metadata and leaves everything else to the label view).
confidence_values = (
    st.floats(0, 1)
    | st.integers(-1, 2)
    | st.sampled_from([None, True, "0.9", float("nan"), float("inf"), -0.0, 1e-300])
)
detection_objects = st.one_of(
    st.none(),
    st.just("not a list"),
    st.lists(
        st.one_of(
            st.fixed_dictionaries({"confidence": confidence_values}),
            st.just({}),
            st.just([0.9]),
        ),
        max_size=4,
    ),
)


@st.composite
def detection_records(draw: st.DrawFn) -> dict[str, Any]:
    kinds = ["groundtruth/object-detection", "groundtruth/Object-Detection", "groundtruth/custom"]
    meta: dict[str, Any] = {"type": draw(st.sampled_from(kinds))}
    objects = draw(detection_objects)
    if objects is not None:
        meta["objects"] = objects
    if draw(st.booleans()):
        meta["class-map"] = {"0": "heron"}
    if draw(st.integers(0, 9)) == 0:
        meta["failure-reason"] = "ClientError"
    rec: dict[str, Any] = {"source-ref": "s3://b/i.jpg"}
    n = len(objects) if isinstance(objects, list) else 1
    if draw(st.integers(0, 5)):
        box = {"class_id": 0, "left": 1, "top": 1, "width": 2, "height": 2}
        rec["a"] = {"image_size": [{"width": 9, "height": 9, "depth": 3}], "annotations": [box] * n}
    if draw(st.integers(0, 9)):
        rec["a-metadata"] = meta if draw(st.integers(0, 9)) else "not an object"
    return rec


def _det(objects: Any, *, body: bool = True, **meta: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"source-ref": "s3://b/i.jpg"}
    if body:
        box = {"class_id": 0, "left": 1, "top": 1, "width": 2, "height": 2}
        rec["a"] = {"image_size": [{"width": 9, "height": 9, "depth": 3}], "annotations": [box]}
    rec["a-metadata"] = {"type": "groundtruth/object-detection", "objects": objects, **meta}
    return rec


@settings(max_examples=300)
@given(
    st.lists(detection_records(), max_size=6),
    st.floats(0, 1),
    st.sampled_from(["min", "mean", "max"]),
)
@example([_det([{"confidence": 0.9}], **{"failure-reason": "ClientError"})], 0.5, "min")
@example([_det([{"confidence": 0.9}, {"confidence": True}])], 0.5, "min")
@example([_det([{"confidence": 0.9}, {"confidence": None}])], 0.5, "max")
@example([_det([{"confidence": "0.9"}])], 0.5, "min")
@example([_det([{"confidence": 0.9}, [0.9]])], 0.5, "min")
@example([_det({"confidence": 0.9})], 0.5, "min")
@example([_det([])], 0.0, "min")
@example([_det([{"confidence": 0.9}], body=False)], 0.5, "min")
@example([_det([{"confidence": 1}, {"confidence": 0}])], 0.5, "mean")
@example([_det([{"confidence": 0.9}], type="groundtruth/Object-Detection")], 0.5, "min")
def test_confidence_filter_shortcut_agrees_with_the_label_view(
    recs: list[dict[str, Any]], low: float, how: str
) -> None:
    lines = [json.dumps(r, allow_nan=True) for r in recs]

    def run(**extra: Any) -> tuple[list[str], list[str], int]:
        acc = Accounting(on_error="collect")
        kept = filter_records(
            read(lines, accounting=acc),
            attribute="a",
            min_confidence=low,
            confidence_of=how,  # type: ignore[arg-type]
            accounting=acc,
            **extra,
        )
        out = [r.raw or "" for r in kept]
        return out, [str(r) for r in acc.rejections], acc.filtered

    # a status rule that admits every state changes nothing but turns the shortcut off
    assert run() == run(status=["labelled", "failed", "unlabelled"])
