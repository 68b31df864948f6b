"""Reviewer-reported bugs of the manifest reader and writer (and WorkerState.save)."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
import select
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import manifests as gm
from consolidation.worker_state import WorkerState
from manifests.errors import AmbiguousLabelError, InvalidLineError, ManifestError

LINES = ['{"source": "a",  "x": 1}', '{"source":"b"}']
TEXT = "\n".join(LINES) + "\n"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _state() -> WorkerState:
    counts = np.ones((1, 2, 2))
    return WorkerState(["x", "y"], ["w"], counts, np.array([2]), np.array([1.0, 1.0]), 0.7)


# -- 1. what is at the target path ---------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_write_to_a_fifo_writes_into_it_and_keeps_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    try:
        assert gm.write(gm.read(LINES), fifo) == 2
    finally:
        reader.join(10)
    assert got == [TEXT.encode()]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_write_through_a_symlink_replaces_the_target_not_the_link(tmp_path: Path) -> None:
    target = tmp_path / "real.manifest"
    target.write_text("old\n")
    link = tmp_path / "link.manifest"
    link.symlink_to(target.name)
    gm.write(gm.read(LINES), link)
    assert link.is_symlink()
    assert os.readlink(link) == target.name
    assert target.read_text() == TEXT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.manifest", "real.manifest"]


def test_write_keeps_the_mode_of_an_existing_file(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "out.manifest"
    path.write_text("old\n")
    os.chmod(path, 0o664)
    gm.write(gm.read(LINES), path)
    assert path.read_text() == TEXT
    assert _mode(path) == 0o664
    os.chmod(path, 0o444)  # read-only: still replaced, still read-only
    gm.write(gm.read(LINES[:1]), path)
    assert path.read_text() == LINES[0] + "\n"
    assert _mode(path) == 0o444


def test_write_gives_a_new_file_the_umask_mode(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "new.manifest.gz"
    gm.write(gm.read(LINES), path)
    assert gzip.decompress(path.read_bytes()).decode() == TEXT
    assert _mode(path) == 0o644
    os.umask(0o077)
    other = tmp_path / "private.manifest"
    gm.write(gm.read(LINES), other)
    assert _mode(other) == 0o600


def test_failed_write_through_a_symlink_leaves_target_and_link(tmp_path: Path) -> None:
    target = tmp_path / "real.manifest"
    target.write_text("old\n")
    link = tmp_path / "link.manifest"
    link.symlink_to(target)

    def boom() -> Iterator[dict[str, object]]:
        yield {"source": "a"}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        gm.write(boom(), link)
    assert link.is_symlink()
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.manifest", "real.manifest"]


def test_worker_state_save_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("{}")
    link = tmp_path / "current.json"
    link.symlink_to(target.name)
    _state().save(link)
    assert link.is_symlink()
    assert WorkerState.load(target).worker_ids == ["w"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current.json", "state.json"]


def test_worker_state_save_keeps_or_sets_the_mode(tmp_path: Path, umask_022: None) -> None:
    old = tmp_path / "old.json"
    old.write_text("{}")
    os.chmod(old, 0o664)
    _state().save(old)
    assert _mode(old) == 0o664
    new = tmp_path / "new.json"
    _state().save(new)
    assert _mode(new) == 0o644
    os.umask(0o027)
    other = tmp_path / "other.json"
    _state().save(other)
    assert _mode(other) == 0o640
    assert WorkerState.load(other).worker_ids == ["w"]


# -- 2. a record that cannot be serialised is rejected, not a crash ------------------------------


def test_unserialisable_record_is_rejected_and_the_next_one_written() -> None:
    acc = gm.Accounting(on_error="collect")
    recs = list(gm.read(['{"source":"a","x":1}', '{"source":"b"}'], accounting=acc))
    recs[0]["x"] = {1, 2}
    out = io.StringIO()
    assert gm.write(recs, out, accounting=acc) == 1
    assert out.getvalue() == '{"source":"b"}\n'
    assert (acc.read, acc.written, acc.rejected) == (2, 1, 1)
    assert acc.balanced
    (rej,) = acc.rejections
    assert (rej.source, rej.lineno, rej.field) == ("<lines>", 1, "<record>")
    assert "set is not JSON serializable" in rej.reason


def test_unserialisable_record_raises_invalid_line_error_under_raise() -> None:
    recs = list(gm.read(['{"source":"a","x":1}', '{"source":"b"}']))
    recs[0]["x"] = {1, 2}
    with pytest.raises(InvalidLineError) as info:
        gm.write(recs, io.StringIO())
    err = info.value
    assert (err.source, err.lineno, err.field) == ("<lines>", 1, "<record>")
    assert err.line == "{'source': 'a', 'x': {1, 2}}"
    assert isinstance(err.__cause__, TypeError)


def test_too_deep_record_is_rejected_with_a_shortened_line() -> None:
    deep = '{"a":' + "[" * 1000 + "]" * 1000 + "}"
    acc = gm.Accounting(on_error="collect")
    out = io.StringIO()
    records = gm.read([deep, '{"b":1}'], accounting=acc, max_line_length=None)
    assert gm.write(records, out, verbatim=False, accounting=acc) == 1
    assert out.getvalue() == '{"b":1}\n'
    assert (acc.read, acc.written, acc.rejected) == (2, 1, 1)
    assert "recursion" in acc.rejections[0].reason
    with pytest.raises(InvalidLineError) as info:
        gm.write(gm.read([deep], max_line_length=None), io.StringIO(), verbatim=False)
    assert info.value.line == deep  # the raw line, as read
    assert isinstance(info.value.__cause__, RecursionError)
    nested: list[object] = []
    rec = gm.Record({"a": nested}, source="mem", lineno=7)
    for _ in range(5000):  # deeper than any recursion limit
        nested.append([])
        nested = nested[0]  # type: ignore[assignment]
    with pytest.raises(InvalidLineError) as info:
        gm.write([rec], io.StringIO())
    assert info.value.line == "{'a': [[[[...]]]]}"  # no raw line: a shortened repr
    assert isinstance(info.value.__cause__, RecursionError)


def test_unserialisable_plain_dict_is_rejected_with_its_repr() -> None:
    acc = gm.Accounting(on_error="collect")
    with gm.Writer(io.StringIO(), accounting=acc) as writer:
        assert writer.write({"x": float("nan")}) is False
        assert writer.write({"x": 1}) is True
    assert (acc.written, acc.rejected) == (1, 1)
    with pytest.raises(InvalidLineError) as info:
        gm.write([{"x": object}], io.StringIO())
    assert info.value.line == "{'x': <class 'object'>}"


# -- 3. serialising only reads -------------------------------------------------------------------


def test_serialising_a_record_keeps_its_raw_line() -> None:
    lines = ['{"a":"\\ud83d","b":"é 日本"}', '{"a": 1}', '{"n":  {"k": [1, 2]}}']
    recs = list(gm.read(lines))
    gm.dumps(recs[1])
    gm.dumps(recs[2])
    gm.write(recs[:1], io.StringIO(), verbatim=False)
    assert not any(rec.modified for rec in recs)
    out = io.BytesIO()
    gm.write(recs, out)
    assert out.getvalue() == ("\n".join(lines) + "\n").encode()


def test_dumps_escapes_only_the_lone_surrogates() -> None:
    assert gm.dumps({"a": "\ud83d", "b": "é 日本"}) == '{"a":"\\ud83d","b":"é 日本"}'
    rec = next(iter(gm.read(['{"a":"x\\udc80y","b":"é"}'])))
    assert gm.dumps(rec) == '{"a":"x\\udc80y","b":"é"}'
    assert gm.read([gm.dumps(rec)]).__next__() == rec


# -- 4. line by line output ----------------------------------------------------------------------


@pytest.mark.parametrize("binary", [False, True])
def test_line_buffered_write_hands_on_every_record_at_once(binary: bool) -> None:
    out: io.StringIO | io.BytesIO = io.BytesIO() if binary else io.StringIO()
    acc = gm.Accounting()
    seen: list[tuple[int, int]] = []

    def source() -> Iterator[gm.Record]:
        for i, rec in enumerate(gm.read([f'{{"n": {i}}}' for i in range(3)], accounting=acc)):
            if i:  # the previous record is out, and counted, before the next one is read
                text = out.getvalue()
                seen.append((len(text.splitlines()), acc.written))
            yield rec

    assert gm.write(source(), out, accounting=acc, line_buffered=True) == 3
    assert seen == [(1, 1), (2, 2)]
    assert (acc.read, acc.written) == (3, 3)


def test_writer_flush_hands_on_the_queued_records() -> None:
    out = io.StringIO()
    acc = gm.Accounting()
    writer = gm.Writer(out, accounting=acc)
    writer.write({"n": 1})
    writer.flush()
    assert (out.getvalue(), acc.written, writer.count) == ('{"n":1}\n', 1, 1)
    writer.close()
    writer.flush()  # after close: nothing to do
    assert acc.written == 1


def test_line_buffered_stdout_streams_each_line(tmp_path: Path) -> None:
    code = "import manifests as gm; gm.write(gm.read('-'), '-', line_buffered=True)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        for i in range(2):
            proc.stdin.write(b'{"n": %d}\n' % i)
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, "no output while the input stays open"
            assert proc.stdout.readline() == b'{"n": %d}\n' % i
        proc.stdin.close()
        assert proc.stdout.read() == b""
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.wait()


# -- 5. an input that cannot be read any further -------------------------------------------------


def test_truncated_gz_names_file_and_line_and_keeps_the_counts(tmp_path: Path) -> None:
    path = tmp_path / "in.manifest.gz"
    data = gzip.compress(b"".join(b'{"n": %d}\n' % i for i in range(100_000)))
    path.write_bytes(data[: len(data) // 2])
    acc = gm.Accounting(on_error="collect")
    numbers: list[int] = []
    with pytest.raises(ManifestError) as info:
        numbers.extend(rec["n"] for rec in gm.read(path, accounting=acc))
    seen = len(numbers)
    assert numbers == list(range(seen))
    assert seen > 1000
    assert (acc.read, acc.rejected) == (seen, 0)
    assert str(info.value).startswith(f"{path}: cannot read beyond line {seen}: ")
    assert "truncated" in str(info.value)
    assert isinstance(info.value.__cause__, EOFError)


def test_corrupt_gz_is_a_manifest_error(tmp_path: Path) -> None:
    path = tmp_path / "in.manifest.gz"
    path.write_bytes(b"not gzip at all\n")
    with pytest.raises(
        ManifestError, match=f"^{re.escape(str(path))}: cannot read its first"
    ) as info:
        list(gm.read(path, on_error="skip"))
    assert isinstance(info.value.__cause__, OSError)


def test_text_file_object_that_cannot_decode_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.manifest"
    good = b"".join(b'{"n": %d}\n' % i for i in range(5000))
    path.write_bytes(good + b'{"s": "caf\xe9"}\n')
    acc = gm.Accounting(on_error="collect")
    with open(path, encoding="utf-8") as fh, pytest.raises(ManifestError) as info:
        for _ in gm.read(fh, accounting=acc):
            pass
    assert 0 < acc.read <= 5000
    message = str(info.value)
    assert message.startswith(f"{path}: cannot read beyond line {acc.read}: not UTF-8")
    assert "0xe9" in message
    assert isinstance(info.value.__cause__, UnicodeDecodeError)
    with pytest.raises(ManifestError, match="<lines>: cannot read its first line: not UTF-8"):
        list(gm.read(io.TextIOWrapper(io.BytesIO(b'{"s": "\xe9"}\n'), encoding="utf-8")))
    # in binary mode the same line is rejected on its own, with its position
    acc = gm.Accounting(on_error="collect")
    assert len(list(gm.read(path, accounting=acc))) == 5000
    assert acc.rejected == 1
    assert "invalid byte 0xe9" in acc.rejections[0].reason


# -- 6. AmbiguousLabelError carries its line -----------------------------------------------------


def test_ambiguous_label_error_carries_its_line_through_pickle() -> None:
    line = '{"a-metadata":{"job-name":"j"},"b-metadata":{"job-name":"k"}}'
    err = AmbiguousLabelError(["a", "b"], lineno=3, source="in.manifest", line=line)
    assert isinstance(err, InvalidLineError)
    assert (err.line, err.lineno, err.source, err.field) == (line, 3, "in.manifest", "<labels>")
    back = pickle.loads(pickle.dumps(err))
    assert (back.line, back.lineno, back.source, back.attributes) == (
        line,
        3,
        "in.manifest",
        ("a", "b"),
    )
    assert str(back) == str(err)


def test_ambiguous_label_from_a_transform_carries_the_raw_line() -> None:
    line = (
        '{"source":"x","a":0,"a-metadata":{"class-name":"p","type":'
        '"groundtruth/text-classification"},"b":1,"b-metadata":{"class-name":"q","type":'
        '"groundtruth/text-classification"}}'
    )
    with pytest.raises(AmbiguousLabelError) as info:
        list(gm.drop_classes(gm.read([line]), ["p"]))
    assert info.value.lineno == 1
    assert info.value.line == line
