"""Box kernels: pairwise IoU, paired IoU, segment sort and clustering, numba against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from consolidation._kernels import numba_available
from consolidation._kernels.iou import (
    cluster_boxes,
    iou_matrix,
    paired_iou,
    paired_iou_kernel,
    segment_sort,
)

needs_numba = pytest.mark.skipif(not numba_available(), reason="numba is not installed")

coordinate = st.one_of(
    st.integers(-5, 30).map(float),
    st.floats(-5, 30, allow_nan=False, allow_infinity=False),
)
extent = st.one_of(st.integers(0, 15).map(float), st.floats(0, 15, allow_nan=False))
box = st.tuples(coordinate, coordinate, extent, extent)
box_arrays = st.lists(box, min_size=0, max_size=12).map(
    lambda rows: np.array(rows, dtype=np.float64).reshape(-1, 4)
)


def _naive_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return min(inter / union, 1.0) if union > 0 else 0.0  # rounding can exceed 1 by an ulp


def test_iou_worked_example() -> None:
    a = [[10, 10, 40, 40]]
    b = [[12, 8, 40, 44], [60, 60, 20, 20], [10, 10, 40, 40], [50, 10, 5, 5]]
    got = iou_matrix(a, b, "numpy")[0]
    assert got[0] == pytest.approx(0.8261, abs=5e-5)
    assert got[1:].tolist() == [0.0, 1.0, 0.0]  # touching edges do not overlap


def test_iou_degenerate_boxes_are_zero_not_nan() -> None:
    zero = np.array([[5.0, 5, 0, 0], [5.0, 5, 0, 4], [0.0, 0, 10, 10]])
    for backend in ("numpy", "numba"):
        m = iou_matrix(zero, zero, backend)
        assert np.isfinite(m).all()
        assert m[0, 0] == 0.0
        assert m[1, 1] == 0.0
        assert m[2, 2] == 1.0


@given(box_arrays, box_arrays)
def test_iou_matrix_matches_naive_formula(a: np.ndarray, b: np.ndarray) -> None:
    got = iou_matrix(a, b, "numpy")
    want = np.array([[_naive_iou(tuple(x), tuple(y)) for y in b] for x in a]).reshape(got.shape)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-12)
    assert ((got >= 0) & (got <= 1)).all()
    n = min(len(a), len(b))  # aligned rows: the diagonal of the same naive formula
    paired = paired_iou(a[:n], b[:n])
    assert paired.shape == (n,)
    assert np.allclose(paired, want[np.arange(n), np.arange(n)], rtol=1e-12, atol=1e-12)


@needs_numba
@given(box_arrays, box_arrays)
def test_iou_kernels_numba_numpy_parity(a: np.ndarray, b: np.ndarray) -> None:
    # Bitwise equality: the clustering relies on identical threshold decisions.
    assert np.array_equal(iou_matrix(a, b, "numba"), iou_matrix(a, b, "numpy"))
    n = min(len(a), len(b))
    pn = paired_iou_kernel(a[:n], b[:n], "numba")
    assert np.array_equal(pn, paired_iou_kernel(a[:n], b[:n], "numpy"))
    assert np.array_equal(pn, paired_iou(a[:n], b[:n]))


@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=8),
    st.data(),
)
def test_segment_sort_is_a_stable_lexicographic_sort(
    lengths: list[int], data: st.DataObject
) -> None:
    n = sum(lengths)
    keys = np.array(
        data.draw(
            st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=n, max_size=n)
        ),
        dtype=np.float64,
    ).reshape(n, 2)
    starts = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    want = []
    for s in range(len(lengths)):
        idx = list(range(starts[s], starts[s + 1]))
        want += sorted(idx, key=lambda i: (keys[i, 0], keys[i, 1]))  # sorted() is stable
    backends = ("numpy", "numba") if numba_available() else ("numpy",)
    for backend in backends:
        order = np.arange(n, dtype=np.int64)
        segment_sort(starts, keys, order, backend)
        assert order.tolist() == want


@needs_numba
def test_segment_sort_long_segments_fall_back_to_numpy() -> None:
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 5, size=(300, 3)).astype(np.float64)
    starts = np.array([0, 10, 290, 300], dtype=np.int64)
    a = np.arange(300, dtype=np.int64)
    b = a.copy()
    segment_sort(starts, keys, a, "numba")
    segment_sort(starts, keys, b, "numpy")
    assert np.array_equal(a, b)


def _cluster_inputs(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random groups of crowded integer boxes (many conflicts), canonically ordered."""
    rng = np.random.default_rng(seed)
    starts, run_end, coords = [0], [], []
    for _ in range(30):
        n_workers = int(rng.integers(1, 6))
        centres = rng.integers(0, 40, size=(int(rng.integers(1, 6)), 2))
        for _w in range(n_workers):
            k = int(rng.integers(0, 5))
            pick = centres[rng.integers(0, len(centres), size=k)]
            wh = rng.integers(0, 12, size=(k, 2))
            rows = np.column_stack([pick + rng.integers(-2, 3, size=(k, 2)), wh])
            rows = rows[np.lexsort(rows.T[::-1])]
            head = len(coords)
            coords.extend(rows.tolist())
            run_end.extend([head + k] * k)
        starts.append(len(coords))
    return (
        np.array(starts, dtype=np.int64),
        np.array(run_end, dtype=np.int64),
        np.array(coords, dtype=np.float64).reshape(-1, 4),
    )


@needs_numba
@pytest.mark.parametrize("median", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_kernel_numba_numpy_parity(seed: int, median: bool) -> None:
    starts, run_end, coords = _cluster_inputs(seed)
    a = cluster_boxes(starts, run_end, coords, 0.3, median, "numba")
    b = cluster_boxes(starts, run_end, coords, 0.3, median, "numpy")
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)


def test_conflicts_are_resolved_by_linear_sum_assignment() -> None:
    # Worker 2's box overlaps both of worker 1's clusters above the threshold: a conflict.
    # Hungarian over IoU >= tau picks the larger IoU; every box joins at most one cluster.
    coords = np.array([[0, 0, 10, 10], [2, 0, 10, 10], [1, 0, 10, 10]], dtype=np.float64)
    starts = np.array([0, 3], dtype=np.int64)
    run_end = np.array([1, 2, 3], dtype=np.int64)  # three workers, one box each
    backends = ("numpy", "numba") if numba_available() else ("numpy",)
    for backend in backends:
        local, fused, counts, ncl = cluster_boxes(starts, run_end, coords, 0.5, False, backend)
        assert local.tolist() == [0, 0, 0]
        assert ncl.tolist() == [1]
        assert counts[0] == 3
        assert fused[0].tolist() == [1.0, 0.0, 10.0, 10.0]
    # Two boxes of one worker compete for one cluster: only the better one joins.
    coords = np.array([[0, 0, 10, 10], [0, 0, 10, 9], [0, 0, 10, 10]], dtype=np.float64)
    run_end = np.array([1, 3, 3], dtype=np.int64)
    m = iou_matrix(coords[1:], coords[:1], "numpy")
    rows, cols = linear_sum_assignment(m, maximize=True)
    for backend in backends:
        local, _, counts, ncl = cluster_boxes(starts, run_end, coords, 0.5, False, backend)
        assert ncl.tolist() == [2]
        assert local[1 + rows[0]] == cols[0] == 0
        assert counts[:2].tolist() == [2, 1]
