"""Bad input files reach the user as ``file:line: field: reason``, never as a traceback.

Covers the readers of ``gt-consolidate`` (``consolidation._cli_io``), the worker-state file,
``Annotations.from_csv`` and the box geometry checks of ``BoxAnnotations``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from consolidation import Annotations, WorkerState
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
    assert state.read_text(encoding="utf-8") == before  # a refused state is never saved again


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
