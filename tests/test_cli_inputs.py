"""Bad input files reach the user as ``file:line: field: reason``, never as a traceback.

Covers the readers of ``gt-consolidate`` (``consolidation._cli_io``), the worker-state file,
``Annotations.from_csv`` and the box geometry checks of ``BoxAnnotations``.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from consolidation import Annotations, BoxAnnotations, BoxConsolidator, WorkerState
from consolidation._errors import AnnotationError
from consolidation.cli import main

ANSWERS = "item,worker,label\ni1,w1,a\ni1,w2,b\ni2,w1,b\ni2,w2,b\n"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def _answers(tmp_path: Path) -> str:
    path = tmp_path / "answers.csv"
    path.write_text(ANSWERS, encoding="utf-8")
    return str(path)


# -------------------------------------------------------------------------------------------------
# worker state (--state, WorkerState.load / from_dict)
# -------------------------------------------------------------------------------------------------


def _state_dict() -> dict[str, Any]:
    rows = [("i1", "w1", "a"), ("i1", "w2", "b"), ("i2", "w1", "b"), ("i2", "w2", "b")]
    from consolidation import ModifiedDawidSkene

    state: WorkerState = ModifiedDawidSkene().fit(Annotations.from_records(rows)).worker_state_
    return state.to_dict()


def _broken(change: str) -> Any:
    data = _state_dict()
    if change == "list":
        return []
    if change == "no id":
        del data["workers"][1]["id"]
    elif change == "negative n_answers":
        data["workers"][1]["n_answers"] = -5
    elif change == "counts ragged":
        data["workers"][0]["counts"] = [[1.0, 0.0], [1.0]]
    elif change == "counts string":
        data["workers"][0]["counts"] = "x"
    elif change == "negative count":
        data["workers"][1]["counts"][1][0] = -1.0
    elif change == "no classes":
        del data["classes"]
    elif change == "class_counts short":
        data["class_counts"] = [1.0]
    elif change == "accuracy":
        data["population_accuracy"] = 7
    elif change == "worker not object":
        data["workers"][0] = 3
    return data


STATE_ERRORS = {
    "list": "a worker state is a JSON object, not an array",
    "no id": "workers[1]: id: missing",
    "negative n_answers": "workers[1] (id 'w2'): n_answers: -5 is negative",
    "counts ragged": "workers[0] (id 'w1'): counts[1]: expected 2 numbers (one per class), got 1",
    "counts string": "workers[0] (id 'w1'): counts: expected an array, got a string",
    "negative count": "workers[1] (id 'w2'): counts[1][0]: expected a finite, non-negative number",
    "no classes": "classes: missing",
    "class_counts short": "class_counts: expected 2 numbers (one per class), got 1",
    "accuracy": "population_accuracy: expected a number in [0, 1], got 7",
    "worker not object": "workers[0]: expected an object, got a number",
}


@pytest.mark.parametrize("change", sorted(STATE_ERRORS))
def test_malformed_worker_state_is_an_annotation_error(change: str, tmp_path: Path) -> None:
    with pytest.raises(AnnotationError) as info:
        WorkerState.from_dict(_broken(change))
    assert STATE_ERRORS[change] in str(info.value)
    path = tmp_path / "st.json"
    path.write_text(json.dumps(_broken(change)), encoding="utf-8")
    with pytest.raises(AnnotationError, match="malformed worker state") as info:
        WorkerState.load(path)
    assert str(info.value).startswith(f"{path}: malformed worker state: ")
    assert STATE_ERRORS[change] in str(info.value)
    assert isinstance(info.value.__cause__, AnnotationError)


@pytest.mark.parametrize("change", ["list", "no id", "negative n_answers", "counts ragged"])
def test_cli_malformed_state_exits_1_without_traceback(
    change: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "st.json"
    state.write_text(json.dumps(_broken(change)), encoding="utf-8")
    before = state.read_text(encoding="utf-8")
    rc, _, err = _run(capsys, "classify", _answers(tmp_path), "-m", "mds", "--state", str(state))
    assert rc == 1
    assert STATE_ERRORS[change] in err
    assert err.count(str(state)) == 1  # the file is named once
    assert state.read_text(encoding="utf-8") == before  # a refused state is never saved again


def test_errors_about_the_whole_input_name_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tags = tmp_path / "tags.jsonl"
    tags.write_text('{"item": "i1", "worker": "w1", "labels": []}\n', encoding="utf-8")
    rc, _, err = _run(capsys, "multilabel", str(tags), "-m", "mv")
    assert rc == 1
    assert f"{tags}: " in err


def test_no_usable_answers_lists_the_rejected_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bx.csv"
    bad.write_text(
        "item,worker,label,left,top,width,height\nimg,a,owl,1,1,-5,9\nimg,b,owl,1,1,x,9\n",
        encoding="utf-8",
    )
    rc, _, err = _run(capsys, "boxes", str(bad), "--on-error", "skip")
    assert rc == 1
    assert f"{bad}:2: width: -5.0 is negative" in err
    assert f"{bad}:3: width: not a number" in err
    assert f"{bad}: no usable answers (2 answers rejected)" in err


def _ints(*values: int) -> NDArray[np.int64]:
    return np.array(values, dtype=np.int64)


def _ones(n: int) -> NDArray[np.float64]:
    return np.ones(n)


def test_worker_state_constructor_refuses_negative_answers() -> None:
    with pytest.raises(AnnotationError, match=r"worker 'w2': n_answers -5 is negative"):
        WorkerState(["a", "b"], ["w1", "w2"], np.zeros((2, 2, 2)), _ints(1, -5), _ones(2), 0.7)
    counts = np.zeros((2, 2, 2))
    counts[1, 0, 1] = np.inf
    with pytest.raises(AnnotationError, match=r"worker 'w2': counts must be finite"):
        WorkerState(["a", "b"], ["w1", "w2"], counts, _ints(1, 1), _ones(2), 0.7)
    with pytest.raises(AnnotationError, match="class_counts must be finite"):
        WorkerState(["a", "b"], [], np.zeros((0, 2, 2)), _ints(), np.array([np.nan, 1.0]), 0.7)


def test_worker_state_not_utf8_names_file(tmp_path: Path) -> None:
    path = tmp_path / "st.json"
    path.write_bytes(b'{"a": "caf\xe9"}')
    with pytest.raises(AnnotationError, match=r"st\.json: not UTF-8 \(invalid byte 0xe9") as info:
        WorkerState.load(path)
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


def test_valid_state_still_round_trips(tmp_path: Path) -> None:
    data = _state_dict()
    path = tmp_path / "st.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert WorkerState.load(path).to_dict() == json.loads(json.dumps(copy.deepcopy(data)))


# -------------------------------------------------------------------------------------------------
# CSV that is not UTF-8
# -------------------------------------------------------------------------------------------------

LATIN1 = b"item,worker,label\ni1,w1,a\ni1,w2,b\ni2,w1,caf\xe9\ni2,w2,b\ni3,w1,a\ni3,w2,a\n"
NOT_UTF8 = r"label: not UTF-8 (invalid byte 0xe9 in 'caf\xe9')"


def _latin1(tmp_path: Path, name: str = "latin1.csv", data: bytes = LATIN1) -> str:
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return str(path)


@pytest.mark.parametrize(
    "argv",
    [
        ["classify", "-m", "mv"],
        ["workers", "-m", "mv"],
        ["evaluate", "--methods", "mv", "--gold", "GOLD"],
    ],
)
def test_csv_not_utf8_names_file_line_and_field(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _latin1(tmp_path)
    gold = tmp_path / "gold.csv"
    gold.write_text("item,label\ni1,a\n", encoding="utf-8")
    argv = [str(gold) if a == "GOLD" else a for a in argv]
    rc, _, err = _run(capsys, argv[0], path, *argv[1:])
    assert rc == 1
    assert err == f"gt-consolidate: {path}:4: {NOT_UTF8}\n"


def test_csv_not_utf8_multilabel_and_boxes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ml = _latin1(tmp_path, "ml.csv", b"item,worker,labels\ni1,a,cat|d\xf6g\n")
    rc, _, err = _run(capsys, "multilabel", ml)
    assert (rc, err) == (
        1,
        f"gt-consolidate: {ml}:2: labels: not UTF-8 (invalid byte 0xf6 in 'cat|d\\xf6g')\n",
    )
    header = b"item,worker,label,left,top,width,height\n"
    bx = _latin1(tmp_path, "bx.csv", header + b"img1,a,\xe9,1,2,3,4\n")
    rc, _, err = _run(capsys, "boxes", bx)
    assert (rc, err) == (
        1,
        f"gt-consolidate: {bx}:2: label: not UTF-8 (invalid byte 0xe9 in '\\xe9')\n",
    )


@pytest.mark.parametrize("name", ["latin1.csv.gz", "-"])
def test_csv_not_utf8_gzip_and_stdin(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if name == "-":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(LATIN1)))
        path, shown = "-", "<stdin>"
    else:
        path = shown = _latin1(tmp_path, name)
    rc, _, err = _run(capsys, "classify", path, "-m", "mv")
    assert (rc, err) == (1, f"gt-consolidate: {shown}:4: {NOT_UTF8}\n")


def test_csv_not_utf8_skip_drops_and_lists_the_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _latin1(tmp_path)
    rc, out, err = _run(capsys, "classify", path, "-m", "mv", "--on-error", "skip")
    assert rc == 0
    lines = err.splitlines()
    assert lines[0] == f"{path}:4: {NOT_UTF8}"
    assert lines[1].endswith(
        "read 6 answers (3 items, 2 workers, 2 classes), method mv, written 3, rejected 1"
    )
    # i2 keeps the one answer that was readable
    assert "i2,b,1" in out.splitlines()


@pytest.mark.parametrize("option", ["--calibrate", "--class-mix"])
def test_gold_csv_not_utf8_names_file_and_line(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = _latin1(tmp_path, "gold.csv", b"item,label\ni1,a\ni2,caf\xe9\n")
    rc, _, err = _run(capsys, "classify", _answers(tmp_path), option, gold)
    assert (rc, err) == (1, f"gt-consolidate: {gold}:3: {NOT_UTF8}\n")


def test_csv_header_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _latin1(tmp_path, "utf16.csv", "item,worker,label\ni1,w1,a\n".encode("utf-16"))
    rc, _, err = _run(capsys, "classify", path)
    assert rc == 1
    assert err.startswith(f"gt-consolidate: {path}:1: header: not UTF-8 (invalid byte 0xff in ")
    with pytest.raises(
        AnnotationError, match=r"utf16\.csv:1: header: not UTF-8 \(invalid byte 0xff"
    ):
        Annotations.from_csv(path)


def test_valid_utf8_accents_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _latin1(tmp_path, "ok.csv", LATIN1.decode("latin-1").encode("utf-8"))
    rc, out, _ = _run(capsys, "classify", path, "-m", "mv", "--classes", "a,b,café")
    assert rc == 0
    assert len(out.splitlines()) == 4


def test_from_csv_not_utf8_is_annotation_error_with_cause(tmp_path: Path) -> None:
    path = _latin1(tmp_path)
    with pytest.raises(AnnotationError) as info:
        Annotations.from_csv(path)
    assert str(info.value) == f"{path}:4: {NOT_UTF8}"
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


def test_from_csv_messages_name_file_and_line(tmp_path: Path) -> None:
    bad_header = tmp_path / "h.csv"
    bad_header.write_text("foo,worker,label\n1,a,x\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"h\.csv:1: header must name item") as info:
        Annotations.from_csv(bad_header)
    assert info.value.__cause__ is None  # no unrelated "'task' is not in list"
    path = _answers(tmp_path)
    with pytest.raises(AnnotationError, match=r"answers\.csv:3: label: 'b' is not one of the"):
        Annotations.from_csv(path, classes=["a", "c"])
    dup = tmp_path / "dup.csv"
    dup.write_text(ANSWERS + "i1,w1,b\n", encoding="utf-8")
    with pytest.raises(
        AnnotationError,
        match=r"dup\.csv:6: worker: 'w1' answered item 'i1' again \(first on line 2\)",
    ):
        Annotations.from_csv(dup, duplicates="error")
    one = tmp_path / "one.csv"
    one.write_text("item,worker,label\n1,a,x\n2,a,x\n", encoding="utf-8")
    with pytest.raises(
        AnnotationError, match=r"one\.csv: need at least 2 classes, got \['x'\]: name the classes"
    ):
        Annotations.from_csv(one)


def test_one_class_message_mentions_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "one.csv"
    path.write_text("item,worker,label\n1,a,x\n2,a,x\n", encoding="utf-8")
    rc, _, err = _run(capsys, "classify", str(path), "-m", "mv")
    assert rc == 1
    assert f"{path}: need at least 2 classes" in err  # which input
    assert "on the command line, --classes" in err
    assert "pass classes=" not in err


# -------------------------------------------------------------------------------------------------
# JSON Lines rows without their answer
# -------------------------------------------------------------------------------------------------

ML_ROWS = (
    '{"item":"i1","worker":"a","labels":["cat"]}\n'
    '{"item":"i1","worker":"b"}\n'
    '{"item":"i1","worker":"c","lables":["cat"]}\n'
    '{"item":"i2","worker":"a","labels":["dog"]}\n'
)


def test_multilabel_row_without_labels_is_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(ML_ROWS, encoding="utf-8")
    rc, out, err = _run(capsys, "multilabel", str(path))
    assert (rc, out, err) == (1, "", f"gt-consolidate: {path}:2: labels: missing\n")
    rc, out, err = _run(capsys, "multilabel", str(path), "--on-error", "skip")
    assert rc == 0
    assert err.splitlines()[:2] == [f"{path}:2: labels: missing", f"{path}:3: labels: missing"]
    assert "rejected 2" in err
    # Only worker a's answers are used: the result is what a alone says.
    assert out.splitlines()[1:] == ["i1,cat,0.8481", "i2,dog,0.8481"]


def test_explicit_empty_labels_still_mean_nothing_picked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.jsonl"
    rows = ML_ROWS.replace('"worker":"b"', '"worker":"b","labels":[]').replace("lables", "labels")
    path.write_text(rows, encoding="utf-8")
    rc, _, err = _run(capsys, "multilabel", str(path))
    assert rc == 0
    assert "read 4 answers (2 items, 3 workers, 2 classes)" in err
    path.write_text(rows.replace('"labels":[]', '"labels":null'), encoding="utf-8")
    rc, _, err = _run(capsys, "multilabel", str(path))
    assert (rc, err) == (
        1,
        f"gt-consolidate: {path}:2: labels: null; write [] for an empty answer\n",
    )


def test_multilabel_csv_empty_cell_is_an_empty_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.csv"
    path.write_text("item,worker,labels\ni1,a,cat\ni1,b,\ni2,a,dog\n", encoding="utf-8")
    rc, _, err = _run(capsys, "multilabel", str(path))
    assert rc == 0
    assert "read 3 answers (2 items, 2 workers, 2 classes)" in err


def test_box_row_without_boxes_is_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.jsonl"
    box = '{"label":"owl","left":1,"top":1,"width":10,"height":10}'
    path.write_text(
        f'{{"item":"i1","worker":"a","boxes":[{box}]}}\n'
        '{"item":"i1","worker":"b","image_width":64,"image_height":48}\n'
        '{"item":"i1","worker":"c","boxes":[]}\n',
        encoding="utf-8",
    )
    rc, _, err = _run(capsys, "boxes", str(path))
    assert (rc, err) == (1, f"gt-consolidate: {path}:2: boxes: missing\n")
    rc, out, err = _run(capsys, "boxes", str(path), "--on-error", "skip")
    assert rc == 0
    assert err.startswith(f"{path}:2: boxes: missing\n")
    # W = 2 (a and c): b, whose answer is unknown, does not count as "drew nothing".
    assert out.splitlines()[1] == "i1,owl,1,1,10,10,0.5,1"


def test_classification_row_without_label_says_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"item":"i1","worker":"w1"}\n{"item":"i1","worker":"w2","label":null}\n'
        '{"item":"i1","worker":"w3","label":"a"}\n{"item":"i2","worker":"w3","label":"b"}\n',
        encoding="utf-8",
    )
    rc, _, err = _run(capsys, "classify", str(path), "-m", "mv", "--on-error", "skip")
    assert rc == 0
    assert err.splitlines()[:2] == [
        f"{path}:1: label: missing",
        f"{path}:2: label: expected a string, got null",
    ]


# -------------------------------------------------------------------------------------------------
# box geometry, checked where the row is read
# -------------------------------------------------------------------------------------------------

BOX_HEADER = "item,worker,label,left,top,width,height,image_width,image_height\n"
GOOD_B = "img1,b,owl,12,10,100,100,640,480\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("img1,a,owl,10,10,-5,100,640,480", "width: -5.0 is negative"),
        ("img1,a,owl,10,10,nan,100,640,480", "width: nan is not a finite number"),
        ("img1,a,owl,10,10,100,inf,640,480", "height: inf is not a finite number"),
        ("img1,a,owl,1e300,1e300,1e300,1e300,,", "left: 1e+300 is larger than 2**53 in magnitude"),
        ("img1,a,owl,10,10,,100,640,480", "width: empty"),
        ("img1,a,owl,10,10,abc,100,640,480", "width: not a number: 'abc'"),
        ("img1,a,owl,10,10,100,100,0,480", "image_width: 0 is not positive"),
        (
            "img1,a,owl,10,10,100,100,640,",
            "image_height: empty (image width and height go together)",
        ),
        (
            "img1,a,owl,10,10,100,100,640.5,480",
            "image_width: expected a positive integer, got '640.5'",
        ),
        (  # a box without its label is not "drew nothing": the box would be lost
            "img1,a,,10,10,100,100,640,480",
            "label: empty, but the row has a box (a worker who drew nothing has an empty "
            "label and no coordinates)",
        ),
    ],
)
def test_box_csv_geometry_is_checked_per_row(
    row: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bx.csv"
    path.write_text(BOX_HEADER + row + "\n" + GOOD_B, encoding="utf-8")
    rc, out, err = _run(capsys, "boxes", str(path))
    assert (rc, out, err) == (1, "", f"gt-consolidate: {path}:2: {message}\n")
    rc, out, err = _run(capsys, "boxes", str(path), "--on-error", "skip")
    assert rc == 0
    assert err.splitlines()[0] == f"{path}:2: {message}"
    assert "read 2 answers (1 item, 1 worker, 1 box)" in err
    assert "rejected 1" in err
    # worker a's whole answer is dropped: b alone answered img1 (W = 1, confidence 0.0)
    assert out.splitlines()[1:] == ["img1,owl,12,10,100,100,0,1"]
    assert "nan" not in out


def test_box_csv_conflicting_image_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bx.csv"
    path.write_text(
        BOX_HEADER + "img1,a,owl,10,10,100,100,640,480\n" + GOOD_B.replace("640,480", "800,600"),
        encoding="utf-8",
    )
    expected = (
        f"{path}:3: image_width: image size 800x600 differs from 640x480 given on line 2 "
        "for image 'img1'"
    )
    rc, _, err = _run(capsys, "boxes", str(path))
    assert (rc, err) == (1, f"gt-consolidate: {expected}\n")
    rc, out, err = _run(capsys, "boxes", str(path), "--on-error", "skip")
    assert rc == 0
    assert err.splitlines()[0] == expected
    assert out.splitlines()[1:] == ["img1,owl,10,10,100,100,0,1"]


def test_box_csv_bad_row_drops_the_whole_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bx.csv"
    path.write_text(
        BOX_HEADER
        + "img1,a,owl,10,10,100,100,640,480\n"
        + "img1,a,duck,300,200,-1,40,640,480\n"
        + "img1,a,cat,1,1,5,5,640,480\n"
        + GOOD_B,
        encoding="utf-8",
    )
    rc, out, err = _run(capsys, "boxes", str(path), "--on-error", "skip")
    assert rc == 0
    assert err.splitlines()[0] == f"{path}:3: width: -1.0 is negative"
    assert "read 2 answers (1 item, 1 worker, 1 box)" in err
    assert [r.split(",")[1] for r in out.splitlines()[1:]] == ["owl"]  # no cat from a either


def test_box_jsonl_geometry_and_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def row(worker: str, left: Any = 1, width: Any = 10, size: str = "") -> str:
        box = f'{{"label":"owl","left":{left},"top":1,"width":{width},"height":10}}'
        return f'{{"item":"i1","worker":"{worker}","boxes":[{box}]{size}}}\n'

    path = tmp_path / "b.jsonl"
    path.write_text(
        row("a", size=',"image_width":64,"image_height":48')
        + row("b", width=-3)
        + row("c", left="1e300")
        + row("d", size=',"image_width":65,"image_height":48')
        + row("e", size=',"image_width":64')
        + row("f", size=',"image_width":0,"image_height":48'),
        encoding="utf-8",
    )
    rc, _, err = _run(capsys, "boxes", str(path), "--on-error", "skip")
    assert rc == 0
    assert err.splitlines()[:5] == [
        f"{path}:2: boxes[0].width: -3 is negative",
        f"{path}:3: boxes[0].left: 1e+300 is larger than 2**53 in magnitude",
        f"{path}:4: image_width: image size 65x48 differs from 64x48 given on line 1 for "
        "image 'i1'",
        f"{path}:5: image_height: missing (image width and height go together)",
        f"{path}:6: image_width: expected a positive integer, got 0",
    ]
    assert "rejected 5" in err


def test_box_jsonl_repeated_answer_is_not_a_second_box(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = '{"label":"owl","left":1,"top":2,"width":30,"height":40}'
    path = tmp_path / "b.jsonl"
    path.write_text(
        "".join(f'{{"item":"i1","worker":"{w}","boxes":[{box}]}}\n' for w in ("a", "b", "a")),
        encoding="utf-8",
    )
    rc, out, _ = _run(capsys, "boxes", str(path))
    assert rc == 0
    assert out.splitlines()[1:] == ["i1,owl,1,2,30,40,1,2"]  # not a phantom box of support 1


def test_box_csv_output_keeps_every_digit_of_large_coordinates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.csv"
    path.write_text(
        "item,worker,label,left,top,width,height\n"
        "a,w1,x,104321.5,2000000,12.25,4\n"
        "a,w2,x,104321.5,2000000,12.25,4\n"
        "b,w1,x,-0.001,1,2,3\n",
        encoding="utf-8",
    )
    rc, out, _ = _run(capsys, "boxes", str(path))
    assert rc == 0
    assert out.splitlines()[1:] == [
        "a,x,104321.5,2000000,12.25,4,1,2",  # not 104322,2e+06,...
        "b,x,0,1,2,3,0,1",  # not -0
    ]


def test_box_annotations_refuse_overflowing_coordinates() -> None:
    rows = [("img1", "a", "owl", 1e300, 1e300, 1e300, 1e300)]
    with pytest.raises(AnnotationError, match=r"item 'img1', worker 'a': left 1e\+300 is larger"):
        BoxAnnotations.from_records(rows)
    with pytest.raises(AnnotationError, match=r"width 1e\+300 is larger than 2\*\*53"):
        BoxAnnotations.from_records(
            [("img1", "a", "owl", 1, 1, 2, 2)], image_sizes={"img1": (1e300, 10)}
        )
    # At the bound itself, areas stay finite and the confidence is a number.
    big = float(2**53)
    ann = BoxAnnotations.from_records(
        [("img1", "a", "owl", 0, 0, big, big), ("img1", "b", "owl", 0, 0, big, big)]
    )
    conf = BoxConsolidator().fit(ann).boxes_["confidence"]
    assert conf.tolist() == [1.0]


def test_a_label_outside_the_states_classes_says_where_they_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "b1.csv"
    first.write_text("item,worker,label\ni1,w1,a\ni1,w2,b\ni2,w1,b\n", encoding="utf-8")
    state = tmp_path / "state.json"
    rc, _, _ = _run(capsys, "classify", str(first), "-m", "mds", "--state", str(state), "-q")
    assert rc == 0
    second = tmp_path / "b2.csv"
    second.write_text("item,worker,label\ni3,w1,a\ni3,w2,zebra\n", encoding="utf-8")
    rc, _, err = _run(capsys, "classify", str(second), "-m", "mds", "--state", str(state))
    assert rc == 1
    assert f"label: 'zebra' is not one of the classes of --state {state}" in err
