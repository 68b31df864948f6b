"""Parity of the optional orjson paths: with or without orjson, the same bytes and errors."""

from __future__ import annotations

import collections
import contextlib
import enum
import io
import math
import os
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import manifests._writing as mwr
import manifests.io as mio
from manifests import Accounting, Record, drop_classes, read, write

pytest.importorskip("orjson")


@contextlib.contextmanager
def _without_orjson() -> Iterator[None]:
    """Run the json-module paths only (as when orjson is not installed)."""
    saved = mio._fast_loads, mwr._fast_dumps
    mio._fast_loads = mwr._fast_dumps = None
    try:
        yield
    finally:
        mio._fast_loads, mwr._fast_dumps = saved


def _outcome(obj: Any, strict: bool) -> tuple[str, str]:
    try:
        return "ok", mio.dumps(obj, strict=strict)
    except Exception as exc:  # the error is part of the behaviour
        return type(exc).__name__, str(exc)


def _both(obj: Any, strict: bool = True) -> tuple[tuple[str, str], tuple[str, str]]:
    fast = _outcome(obj, strict)
    with _without_orjson():
        slow = _outcome(obj, strict)
    return fast, slow


# every code point, lone surrogates and control characters included
texts = st.text(st.characters(codec=None, categories=None), max_size=12) | st.sampled_from(
    ["\u2028\u2029", "\x00\x1f\x7f\x80\x9f", '"\\/\b\f\n\r\t', "\ufeff\U0001f600", "\ud800x"]
)
special_floats = st.sampled_from(
    [
        1e16,
        -1e16,
        9999999999999998.0,
        1e15,
        1e-4,
        9.999999999999999e-05,
        1e-05,
        -0.0,
        0.0,
        5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        164.60000000000002,
        0.1,
        math.nan,
        math.inf,
        -math.inf,
    ]
)
floats = st.floats() | special_floats
ints = (
    st.integers(-(2**64), 2**64)
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([2**63 - 1, -(2**63), 2**63, 2**64 - 1, 2**64, -(2**63) - 1])
)
scalars = st.none() | st.booleans() | ints | floats | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=16,
)


class Colour(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    HIGH = 3


class Name(str, enum.Enum):
    A = "a"


class Text(str):
    pass


# objects orjson writes (or refuses) differently from the json encoder
odd = st.sampled_from(
    [
        Colour.RED,
        Level.HIGH,
        Name.A,
        uuid.UUID(int=7),
        (1, "t"),
        collections.OrderedDict([("b", 1), ("a", 2)]),
        Text("sub"),
        {1: "int key"},
        {None: 0, 2.5: 1, True: 2},
        b"bytes",
        {1, 2},
        Record({"nested": 1}, raw='{"nested":1}'),
    ]
)
odd_values = st.recursive(
    scalars | odd,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(texts, values, max_size=6), st.booleans())
@example({"f": 1e16, "g": -0.0, "h": 5e-324, "i": 1.7976931348623157e308}, True)
@example({"s": "a\u2028b\x00\x1f\x7f\ud800"}, True)
@example({"n": 2**64, "m": -(2**63) - 1}, True)
@example({"x": math.nan}, False)
@example({"x": [{"y": math.inf}]}, True)
def test_dumps_writes_the_same_with_and_without_orjson(obj: dict[str, Any], strict: bool) -> None:
    fast, slow = _both(obj, strict)
    assert fast == slow
    if fast[0] == "ok":
        assert "\n" not in fast[1]
        fast[1].encode("utf-8")


@given(st.dictionaries(texts, odd_values, max_size=4), st.booleans())
def test_dumps_refuses_and_writes_odd_objects_the_same(obj: dict[str, Any], strict: bool) -> None:
    fast, slow = _both(obj, strict)
    assert fast == slow


@given(st.dictionaries(texts, values, max_size=4))
@example({"": 1e16})
@example({})
def test_dumps_of_a_record_keeps_its_raw_line_either_way(obj: dict[str, Any]) -> None:
    fast_rec = Record(obj, raw="{}")
    slow_rec = Record(obj, raw="{}")
    fast = _outcome(fast_rec, True)
    with _without_orjson():
        slow = _outcome(slow_rec, True)
    assert fast == slow
    assert fast_rec.raw == slow_rec.raw == "{}"  # serialising only reads


def test_dumps_fast_path_is_taken_for_plain_records() -> None:
    assert mwr._fast_dumps is not None  # this orjson agrees with the json encoder
    rec = {"source-ref": "s3://b/é.jpg", "a": [{"c": 0.25, "n": None, "t": True}], "k": {}}
    assert mwr._plain_tree(rec)
    for value in (1e16, 1e-5, math.nan, uuid.UUID(int=1), Colour.RED, (1,), Text("x")):
        assert not mwr._plain_tree({"a": [{"b": value}]})
        assert not mwr._plain_tree(Record({"a": value}))
    assert (
        mio.dumps(rec) == '{"source-ref":"s3://b/é.jpg","a":[{"c":0.25,"n":null,"t":true}],"k":{}}'
    )


def test_circular_and_deep_records_are_refused_the_same() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    deep: list[Any] = []
    for _ in range(300):
        deep = [deep]
    for obj in (loop, {"deep": deep}):
        fast, slow = _both(obj)
        assert fast == slow
        assert fast[0] != "ok" or obj is not loop


def _drop_pipeline(lines: list[str]) -> tuple[str, list[str], dict[str, int]]:
    acc = Accounting(on_error="collect")
    out = io.StringIO()
    write(drop_classes(read(lines, accounting=acc), ["duck"], accounting=acc), out, accounting=acc)
    assert acc.balanced
    return out.getvalue(), [str(r) for r in acc.rejections], dict(acc.counters)


def test_rewritten_lines_are_byte_identical_without_orjson() -> None:
    lines = [
        '{"source-ref": "s3://b/1.jpg", "p": {"annotations": [{"class_id": 0, "left": 1e16, '
        '"top": 2.5e-05, "width": 3, "height": 4}, {"class_id": 1, "left": 0.1, "top": -0.0, '
        '"width": 123456789012345678901234567890, "height": 4}]}, '
        '"p-metadata": {"objects": [{"confidence": 0.9}, {"confidence": 0.25}], '
        '"class-map": {"0": "heron", "1": "duck"}, "type": "groundtruth/object-detection", '
        '"note": "caf\\u00e9 \\u2028 \\u0000 \\ud800"}}',
        '{"source-ref": "s3://b/2.jpg", "p": {"annotations": [{"class_id": 1, "left": 5, '
        '"top": 5, "width": 5, "height": 5}]}, "p-metadata": {"objects": [{"confidence": 1}], '
        '"class-map": {"1": "duck"}, "type": "groundtruth/object-detection"}}',
    ]
    fast = _drop_pipeline(lines)
    with _without_orjson():
        slow = _drop_pipeline(lines)
    assert fast == slow
    assert fast[0].count("\n") == 2
    assert "1e+16" in fast[0]
    assert "2.5e-05" in fast[0]


def _read_all(source: Any) -> tuple[list[tuple[Any, ...]], list[str]]:
    acc = Accounting(on_error="collect")
    records = [
        (r.lineno, r.raw, list(r), repr(dict(r)), _types(dict(r)))
        for r in read(source, accounting=acc)
    ]
    return records, [str(r) for r in acc.rejections]


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


number_texts = st.sampled_from(
    [
        "123456789012345678",
        "1234567890123456789",
        "12345678901234567890",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        "-0",
        "-0.0",
        "1E-7",
        "0.1e1",
        "01",
        "1.",
        "2.5e-05",
    ]
)


@st.composite
def json_lines(draw: st.DrawFn) -> str | bytes:
    obj = draw(st.dictionaries(texts, values, max_size=4))
    line = mwr._encode_loose(obj)
    how = draw(st.sampled_from(["as is", "number", "cut", "digits in a string", "bytes", "list"]))
    if how == "number":
        return line[:-1] + ("," if obj else "") + f'"n": {draw(number_texts)}}}'
    if how == "cut":
        return line[: draw(st.integers(0, len(line)))]
    if how == "digits in a string":
        return line[:-1] + ("," if obj else "") + '"s": "x12345678901234567890"}'
    if how == "bytes":
        return line.encode("utf-8", "surrogatepass") + draw(st.sampled_from([b"", b"\xff", b"\n"]))
    if how == "list":
        return "[" + line + "]"
    return line


@given(st.lists(json_lines(), max_size=6))
def test_reading_accepts_rejects_and_explains_the_same_without_orjson(
    lines: list[str | bytes],
) -> None:
    fast = _read_all(lines)
    with _without_orjson():
        slow = _read_all(lines)
    assert fast == slow


@given(
    st.lists(json_lines(), max_size=8),
    st.sampled_from([1, 40, 200, 1 << 16]),
)
@example(['{"a": 1}', '{"n": 12345678901234567890123}', '{"b": 2.5}'], 1 << 16)
@example(['{"a": 1234567890}', '{"b": 123456789012345678}'], 1 << 16)  # 19 digits across lines
@example(['{"n": 12345678901234567890123}', '{"a": 1}', '{"m": -98765432109876543210}'], 1)
def test_a_file_read_by_blocks_reads_as_line_by_line(lines: list[str | bytes], block: int) -> None:
    # A path is read in blocks of lines, with one long-number test per block; a caller's file
    # object is read line by line. Both must give the same records, numbers and rejections.
    data = b"\n".join(
        line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass") for line in lines
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.jsonl")
        with open(path, "wb") as fh:
            fh.write(data)
        saved = mio._BLOCK
        mio._BLOCK = block
        try:
            by_blocks = _read_all(path)
            with _without_orjson():
                slow = _read_all(path)
        finally:
            mio._BLOCK = saved
        with open(path, "rb") as fh:
            by_lines = _read_all(fh)
    assert by_blocks == by_lines == slow
