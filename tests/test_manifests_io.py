"""Reading, writing and accounting of JSON Lines manifests."""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import pytest

import manifests
from manifests import Accounting, InvalidLineError, Record, Writer, dumps, read, write

DATA = Path(__file__).parent / "data" / "manifests"
LINE_A = '{"source-ref": "s3://b/a\u200b.jpg", "z": 1, "a": {"k": [1, 2.5]}}'
LINE_B = '{"source":"héllo ✓","n":null}'


def _write_lines(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_bytes("".join(line + end for line in lines).encode("utf-8"))
    return path


def test_read_keeps_key_order_unknown_keys_and_strings(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "m.manifest", [LINE_A, LINE_B])
    records = list(read(path))
    assert [list(r) for r in records] == [["source-ref", "z", "a"], ["source", "n"]]
    assert records[0]["source-ref"] == "s3://b/a\u200b.jpg"
    assert records[1]["source"] == "héllo ✓"
    assert [(r.source, r.lineno) for r in records] == [(str(path), 1), (str(path), 2)]
    assert all(isinstance(r, Record) and isinstance(r, dict) for r in records)


@pytest.mark.parametrize(
    "source_kind", ["path", "str-path", "gz", "text-file", "binary-file", "str-list", "bytes-list"]
)
def test_read_accepts_every_kind_of_source(tmp_path: Path, source_kind: str) -> None:
    lines = [LINE_A, LINE_B]
    path = _write_lines(tmp_path / "m.manifest", lines)
    if source_kind == "path":
        source: object = path
    elif source_kind == "str-path":
        source = str(path)
    elif source_kind == "gz":
        source = tmp_path / "m.manifest.gz"
        with gzip.open(source, "wb") as fh:
            fh.write(path.read_bytes())
    elif source_kind == "text-file":
        source = io.StringIO("\n".join(lines) + "\n")
    elif source_kind == "binary-file":
        source = io.BytesIO(("\n".join(lines) + "\n").encode())
    elif source_kind == "str-list":
        source = lines
    else:
        source = [line.encode() + b"\n" for line in lines]
    records = list(read(source))  # type: ignore[arg-type]
    assert [dict(r) for r in records] == [json.loads(x) for x in lines]


def test_read_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.TextIOWrapper(io.BytesIO((LINE_A + "\n").encode()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", fake)
    records = list(read("-"))
    assert records[0]["z"] == 1
    assert records[0].source == "<stdin>"
    assert not fake.buffer.closed  # stdin is not ours to close


def test_bom_crlf_and_blank_lines_are_tolerated_and_counted() -> None:
    raw = ("\ufeff" + LINE_A + "\r\n\r\n   \n" + LINE_B + "\r\n").encode()
    acc = Accounting()
    records = list(read(io.BytesIO(raw), accounting=acc))
    assert [r.lineno for r in records] == [1, 4]
    assert (acc.read, acc.blank, acc.rejected) == (2, 2, 0)
    assert records[0].raw == LINE_A  # BOM and line break are not part of the line


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"a": NaN}', "NaN is not valid JSON"),
        ('{"a": Infinity}', "Infinity is not valid JSON"),
        ('{"a": -Infinity}', "-Infinity is not valid JSON"),
        ('{"a": 1', "invalid JSON"),
        ('{"a": 1} {"b": 2}', "Extra data"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('"text"', "expected a JSON object, got str"),
        ("null", "expected a JSON object, got null"),
        ('{"a": "\ud800"}', "lone surrogate"),
    ],
)
def test_invalid_lines_raise_with_location_and_chained_cause(line: str, reason: str) -> None:
    with pytest.raises(InvalidLineError) as info:
        list(read(["{}", line], name="in.manifest"))
    err = info.value
    assert (err.source, err.lineno, err.field) == ("in.manifest", 2, "<line>")
    assert reason in err.reason
    assert str(err).startswith("in.manifest:2: <line>: ")
    if "JSON:" in str(err):
        assert err.__cause__ is not None


def test_invalid_utf8_is_rejected_with_the_byte() -> None:
    acc = Accounting(on_error="collect")
    raw = b'{"a": 1}\n{"b": "\xff"}\n{"c": 3}\n'
    records = list(read(io.BytesIO(raw), accounting=acc))
    assert [list(r) for r in records] == [["a"], ["c"]]
    assert acc.rejections[0].lineno == 2
    assert "invalid byte 0xff" in acc.rejections[0].reason


def test_invalid_utf8_in_a_file_we_open(tmp_path: Path) -> None:
    path = tmp_path / "bad.manifest"
    path.write_bytes(b'{"a": 1}\n{"b": "\xc3"}\n')
    acc = Accounting(on_error="collect")
    assert len(list(read(path, accounting=acc))) == 1
    assert "not UTF-8" in acc.rejections[0].reason


def test_overlong_lines_are_rejected_unless_allowed() -> None:
    line = json.dumps({"source": "x" * 100_001})
    acc = Accounting(on_error="collect")
    assert list(read([line], accounting=acc)) == []
    assert "more than the 100000 allowed" in acc.rejections[0].reason
    assert len(list(read([line], max_line_length=None))) == 1


def test_on_error_policies() -> None:
    lines = ['{"a": 1}', "oops", '{"b": NaN}', '{"c": 3}']
    skip = Accounting(on_error="skip")
    assert len(list(read(lines, accounting=skip))) == 2
    assert (skip.rejected, skip.rejections) == (2, [])
    collect = Accounting(on_error="collect", max_rejections=1)
    assert len(list(read(lines, on_error=None, accounting=collect))) == 2
    assert collect.rejected == 2
    assert len(collect.rejections) == 1
    assert "(1 rejection not listed)" in collect.summary()
    assert len(list(read(lines, on_error="skip"))) == 2
    with pytest.raises(ValueError, match="on_error"):
        Accounting(on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="either"):
        read(lines, on_error="skip", accounting=Accounting())


def test_str_source_is_a_path_and_bytes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read(str(tmp_path / "missing.manifest"))
    with pytest.raises(TypeError, match="not bytes"):
        read(b'{"a": 1}')  # type: ignore[arg-type]


def test_reader_closes_only_what_it_opened(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "m.manifest", [LINE_A, LINE_B])
    given = open(path, "rb")  # noqa: SIM115
    list(read(given))
    assert not given.closed
    given.close()
    with read(path) as reader:
        next(reader)
        owned = reader._owned[0]
        assert not owned.closed
    assert owned.closed
    reader = read(path)
    list(reader)
    assert reader._owned == []


def test_write_is_compact_utf8_and_one_line_per_record() -> None:
    out = io.StringIO()
    recs = [{"source-ref": "s3://b/é\u200b.jpg", "x": [1, 2.5, None], "y": {"z": True}}]
    assert write(recs, out) == 1
    assert out.getvalue() == '{"source-ref":"s3://b/é\u200b.jpg","x":[1,2.5,null],"y":{"z":true}}\n'


def test_unchanged_records_are_written_verbatim_and_changed_ones_reserialised() -> None:
    lines = ['{"source": "a",  "k": 1}', '{"source": "b",  "k": 2}']
    records = list(read(lines))
    records[1]["k"] = 3
    out = io.StringIO()
    write(records, out)
    assert out.getvalue().splitlines() == ['{"source": "a",  "k": 1}', '{"source":"b","k":3}']
    out = io.StringIO()
    write(read(lines), out, verbatim=False)
    assert out.getvalue().splitlines() == ['{"source":"a","k":1}', '{"source":"b","k":2}']


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.__setitem__("k", 0),
        lambda r: r.__delitem__("k"),
        lambda r: r.pop("k"),
        lambda r: r.update(k=5),
        lambda r: r.setdefault("new", 1),
        lambda r: r["nested"].append(9),  # __getitem__ hands out a list: raw dropped
        lambda r: r.get("nested").append(9),
        lambda r: list(r.values())[1].append(9),
        lambda r: r.popitem(),
        lambda r: r.clear(),
        lambda r: r.__ior__({"k": 7}),
        lambda r: r.mark_modified(),
    ],
)
def test_every_mutation_path_drops_the_raw_line(mutate: object) -> None:
    rec = next(iter(read(['{"k": 1, "nested": [1]}'])))
    assert not rec.modified
    mutate(rec)  # type: ignore[operator]
    assert rec.modified
    out = io.StringIO()
    write([rec], out)
    assert json.loads(out.getvalue()) == dict(rec)


def test_reading_scalars_keeps_the_raw_line() -> None:
    rec = next(iter(read(['{"k": 1, "s": "x"}'])))
    assert rec["k"] == 1
    assert rec.get("s") == "x"
    assert rec.data_key is None
    assert not rec.modified


def test_record_copy_and_repr() -> None:
    rec = Record({"source": "a"}, raw='{"source":"a"}', source="f", lineno=3)
    copy = rec.copy()
    assert isinstance(copy, Record)
    assert (copy.source, copy.lineno, copy.modified) == ("f", 3, True)
    assert repr(rec) == "Record({'source': 'a'})"
    assert rec.location == "f:3"


def test_write_rejects_unserialisable_records() -> None:
    acc = Accounting(on_error="collect")
    rec = Record({"x": float("nan")}, source="in", lineno=4)
    out = io.StringIO()
    assert write([rec, {"ok": 1}], out, accounting=acc) == 1
    assert out.getvalue() == '{"ok":1}\n'
    assert acc.rejections[0].lineno == 4
    assert "cannot be written as JSON" in acc.rejections[0].reason
    with pytest.raises(InvalidLineError):
        write([{"x": float("inf")}], io.StringIO())


def test_lone_surrogates_are_escaped_on_write() -> None:
    text = dumps({"s": "a\ud800b"})
    assert text == '{"s":"a\\ud800b"}'
    text.encode("utf-8")


def test_write_to_path_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.manifest"
    target.write_text("previous\n")

    def records() -> object:
        yield {"a": 1}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write(records(), target)  # type: ignore[arg-type]
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.manifest"]
    write([{"a": 1}], target)
    assert target.read_text() == '{"a":1}\n'


def test_write_gz_and_binary_targets(tmp_path: Path) -> None:
    target = tmp_path / "out.manifest.gz"
    write([{"a": "é"}], target)
    assert gzip.decompress(target.read_bytes()) == '{"a":"é"}\n'.encode()
    buf = io.BytesIO()
    write([{"a": "é"}], buf)
    assert not buf.closed
    assert buf.getvalue() == '{"a":"é"}\n'.encode()


def test_write_to_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    write([{"a": "é"}], "-")
    assert capsysbinary.readouterr().out == '{"a":"é"}\n'.encode()


def test_writer_push_api(tmp_path: Path) -> None:
    acc = Accounting()
    with Writer(tmp_path / "o.manifest", accounting=acc) as writer:
        for k in range(1500):  # more than one internal chunk
            writer.write({"k": k})
    assert acc.written == 1500
    assert (tmp_path / "o.manifest").read_text().count("\n") == 1500


def test_accounting_identity_and_summary() -> None:
    acc = Accounting(on_error="skip")
    lines = ['{"source": "a", "t": 1}', "", "bad", '{"source": "b"}']

    def keep_t(records: object) -> object:
        for rec in records:  # type: ignore[attr-defined]
            if "t" in rec:
                yield rec
            else:
                acc.filtered += 1

    write(keep_t(read(lines, accounting=acc)), io.StringIO(), accounting=acc)  # type: ignore[arg-type]
    assert acc.balanced
    acc.check()
    assert acc.summary().startswith("read 3, written 1, filtered 1, rejected 1, blank 1")
    acc.read += 1
    with pytest.raises(manifests.ManifestError, match="does not balance"):
        acc.check()


def test_invalid_line_error_pickles_and_formats() -> None:
    import pickle

    err = InvalidLineError(5, "{", "<line>", "bad", source="x.manifest")
    again = pickle.loads(pickle.dumps(err))
    assert (again.lineno, again.line, again.field, again.reason, again.source) == (
        5,
        "{",
        "<line>",
        "bad",
        "x.manifest",
    )
    assert str(InvalidLineError(0, "", "[3].workerId", "missing", source="p.json")) == (
        "p.json: [3].workerId: missing"
    )


def test_fixture_files_read_cleanly() -> None:
    paths = sorted(DATA.glob("*.manifest"))
    assert len(paths) >= 5  # a renamed folder must not turn the loop into a no-op
    for path in paths:
        acc = Accounting()
        out = io.StringIO()
        n = write(read(path, accounting=acc), out, accounting=acc)
        assert n == acc.read == path.read_text(encoding="utf-8").count("\n") > 0
        assert acc.rejected == 0
        assert out.getvalue() == path.read_text(encoding="utf-8")  # unchanged lines, verbatim


TRICKY_LINES = [
    '{"source-ref": "s3://b/a\u200b.jpg", "n": 1}',
    '{"n": 123456789012345678901234567890}',  # beyond 64 bits: must stay an exact int
    '{"n": -9223372036854775809, "m": 18446744073709551616}',
    '{"x": NaN}',
    '{"x": Infinity}',
    '{"x": 1e400}',
    '{"x": -0.0, "y": 164.60000000000002, "z": 1E-7}',
    '{"k": 1, "k": 2}',
    '{"s": "\\ud800"}',
    '{"s": "caf\u00e9 \\u00e9 \\n"}',
    "[1, 2]",
    '{"a": {"b": [{"c": null}]}} trailing',
    '{"truncated": [1, 2',
]


def test_orjson_fast_path_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("orjson")
    import manifests.io as mio

    def parse() -> tuple[list[tuple[dict, str | None]], list[str]]:
        acc = mio.Accounting(on_error="collect")
        records = [(dict(r), r.raw) for r in mio.read(TRICKY_LINES, accounting=acc)]
        return records, [str(r) for r in acc.rejections]

    assert mio._fast_loads is not None
    fast = parse()
    monkeypatch.setattr(mio, "_fast_loads", None)
    slow = parse()
    assert fast == slow
    records, rejections = fast
    assert records[1][0]["n"] == 123456789012345678901234567890
    assert type(records[2][0]["m"]) is int
    assert [r.split(": ", 2)[0] for r in rejections] == [
        f"<lines>:{n}" for n in (4, 5, 6, 11, 12, 13)
    ]
    assert "1e400 does not fit a double" in rejections[2]
