"""The shared parameter checks, and that every public numeric parameter goes through them alike."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from consolidation import (
    BayesianDawidSkene,
    BoxConsolidator,
    DawidSkene,
    InvalidParameterError,
    ModifiedDawidSkene,
    MultiLabelConsolidator,
    quality,
)
from consolidation._checks import check_count, check_real

ROWS = [("a", "w1", 0), ("a", "w2", 0), ("b", "w1", 1), ("b", "w2", 1), ("c", "w1", 0)]
BOXES = [("img", "w1", "bird", 10, 10, 40, 40), ("img", "w2", "bird", 12, 8, 40, 44)]
SETS = [(item, worker, {label}) for item, worker, label in ROWS]


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3)])
def test_count_accepts_any_integer_and_returns_an_int(value: Any) -> None:
    out = check_count("n", value, 1, 5)
    assert out == 3
    assert type(out) is int


@pytest.mark.parametrize("value", [True, 3.0, "3", None, 0, 6, np.float64(3)])
def test_count_refuses_bools_non_integers_and_out_of_range(value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=r"'n'.*expected an integer in \[1, 5\]"):
        check_count("n", value, 1, 5)


def test_count_without_maximum_says_so() -> None:
    with pytest.raises(InvalidParameterError, match="expected an integer >= 0"):
        check_count("budget", -1, 0)


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.5), np.int8(1), Fraction(1, 2)])
def test_real_accepts_any_real_and_returns_a_float(value: Any) -> None:
    out = check_real("x", value, 0.0, 1.0)
    assert out == float(value)
    assert type(out) is float


@pytest.mark.parametrize("value", [False, math.nan, np.nan, -0.1, 1.5, "0.5", None, 1j])
def test_real_refuses_bools_nan_strings_and_out_of_range(value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=r"expected a finite number in \[0, 1\]"):
        check_real("x", value, 0.0, 1.0)


def test_real_open_lower_bound() -> None:
    assert check_real("t", 1e-300, 0.0, low_open=True) == 1e-300
    with pytest.raises(InvalidParameterError, match=r"expected a finite number > 0$"):
        check_real("t", 0.0, 0.0, low_open=True)
    with pytest.raises(InvalidParameterError, match=r"a finite number in \(0, 1\]"):
        check_real("t", 0, 0.0, 1.0, low_open=True)


def test_real_infinities_only_where_allowed() -> None:
    with pytest.raises(InvalidParameterError, match=r"expected a finite number$"):
        check_real("z", math.inf)
    assert check_real("z", -math.inf, finite=False) == -math.inf
    with pytest.raises(InvalidParameterError, match=r"expected a number$"):
        check_real("z", math.nan, finite=False)
    with pytest.raises(InvalidParameterError, match="expected a finite number <= 2"):
        check_real("z", 3.0, high=2.0)


_DS = DawidSkene().fit(ROWS)

# Every estimator and report takes numpy scalars where it takes numbers, and refuses a bool or NaN
# with the parameter's name: (factory of the call, the parameter, a good numpy value).
CASES: list[tuple[Any, str, Any]] = [
    (lambda v: DawidSkene(tol=v).fit(ROWS), "tol", np.float32(1e-3)),
    (lambda v: DawidSkene(max_iter=v).fit(ROWS), "max_iter", np.int32(5)),
    (
        lambda v: ModifiedDawidSkene(initial_accuracy=v).fit(ROWS),
        "initial_accuracy",
        np.float32(0.7),
    ),
    (lambda v: BayesianDawidSkene(diag_prior=v).fit(ROWS), "diag_prior", np.float32(2.0)),
    (lambda v: BayesianDawidSkene(n_subtypes=v).fit(ROWS), "n_subtypes", np.int16(2)),
    (lambda v: MultiLabelConsolidator(threshold=v).fit(SETS), "threshold", np.float32(0.5)),
    # values that change the result here (IoU of the two boxes 0.83; w1's accuracy 0.997 and
    # spammer score 0.952, w2's 0.9999 and 0.961), so that an ignored value would show
    (lambda v: BoxConsolidator(iou_threshold=v).fit(BOXES), "iou_threshold", np.float32(0.9)),
    (lambda v: quality.calibration([[0.9, 0.1]], [0], n_bins=v), "n_bins", np.int64(4)),
    (lambda v: quality.temper([[0.9, 0.1]], v), "temperature", np.float32(2.0)),
    (lambda v: quality.next_answer_gain(_DS, chunk=v), "chunk", np.int64(2)),
    (lambda v: quality.worker_report(_DS, ROWS, min_answers=v), "min_answers", np.int8(2)),
    (
        lambda v: quality.worker_report(_DS, ROWS, min_answers=1, min_accuracy=v),
        "min_accuracy",
        np.float32(0.999),
    ),
    (
        lambda v: quality.worker_report(_DS, ROWS, min_answers=1, spammer_threshold=v),
        "spammer_threshold",
        np.float32(0.955),
    ),
]


def _assert_same_result(a: Any, b: Any, path: str = "result") -> None:
    """Equal results, recursively: arrays, containers, dataclasses, fitted attributes."""
    assert type(a) is type(b), path
    if isinstance(a, np.ndarray):
        assert a.shape == b.shape, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_result(x, y, f"{path}[{k}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_same_result(a[k], b[k], f"{path}[{k!r}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        names = [n for n in vars(a) if n.endswith("_")] or list(vars(a))  # fitted attributes
        assert names, path
        for n in names:
            _assert_same_result(getattr(a, n), getattr(b, n), f"{path}.{n}")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    else:
        assert a == b, path


@pytest.mark.parametrize(("call", "name", "good"), CASES, ids=[c[1] for c in CASES])
def test_public_parameters_take_numpy_scalars_and_refuse_bools_and_nan(
    call: Any, name: str, good: Any
) -> None:
    # A numpy scalar gives exactly what the same value as a plain Python number gives.
    plain = good.item()
    assert type(plain) in (int, float)
    _assert_same_result(call(good), call(plain))
    for bad in (True, math.nan):
        with pytest.raises(InvalidParameterError, match=f"'{name}'"):
            call(bad)


@pytest.mark.parametrize("chunk", [-1, 0])
def test_next_answer_gain_refuses_chunks_that_read_no_items(chunk: int) -> None:
    # -1 read uninitialised memory (gains of 1e276), 0 failed inside range()
    with pytest.raises(InvalidParameterError, match="'chunk'"):
        quality.next_answer_gain(_DS, chunk=chunk)
