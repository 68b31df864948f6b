"""Every kernel's loop and numpy twin, run on the same data, give the same results.

The kernels are found by walking the package, so a new kernel without an entry in ``RUNNERS``
fails here. Each runner goes through the public wrapper of its kernel; the loop is run both as
numba compiles it (when numba is installed) and as plain Python, so its logic is checked against
the twin even where numba is missing.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import numpy as np
import pytest

import consolidation
from consolidation import simulate
from consolidation._kernels import Kernel, numba_available
from consolidation._kernels._backend import Backend
from consolidation._kernels.digamma import DIGAMMA_GAMMALN, digamma_gammaln
from consolidation._kernels.em import (
    _accumulate,
    _m_step,
    _m_step_runs,
    _scale_rows,
    _scale_rows_tracked,
    e_step,
    e_step_tracked,
    m_step_in_runs,
    normalise,
)
from consolidation._kernels.iou import (
    CLUSTER,
    IOU_MATRIX,
    PAIRED_IOU,
    SEGMENT_SORT,
    cluster_boxes,
    iou_matrix,
    paired_iou_kernel,
    segment_sort,
)

Outputs = tuple[np.ndarray, ...]


def _all_kernels() -> dict[str, Kernel]:
    found: dict[str, Kernel] = {}
    for info in pkgutil.walk_packages(consolidation.__path__, "consolidation."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, Kernel) and obj.loop.__module__ == info.name:
                found[f"{info.name}.{name}"] = obj
    return found


# ----------------------------------------------------------------------------------- inputs
def _boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.integers(-5, 30, size=(n, 2)).astype(np.float64) + rng.choice([0.0, 0.5], (n, 2))
    wh = rng.integers(0, 15, size=(n, 2)).astype(np.float64)  # zero extents included
    return np.ascontiguousarray(np.column_stack([xy, wh]))


def _answers() -> tuple[np.ndarray, ...]:
    ann = simulate.classification(400, 12, 3, 4, seed=5).annotations
    return (*ann.sorted_by_item(), np.int64(ann.n_items), np.int64(ann.n_workers))


def _em_tables(n_items: int, n_workers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    k, s = 3, 6  # six latent states: the rectangular layout of subtypes
    log_emit = np.log(rng.dirichlet(np.ones(k), size=(n_workers, s)).transpose(0, 2, 1).copy())
    log_prior = np.log(rng.dirichlet(np.ones(s)))
    post = rng.dirichlet(np.ones(s), size=n_items)
    return log_emit, log_prior, post


# ---------------------------------------------------------------------------------- runners
def _run_digamma(backend: Backend) -> Outputs:
    x = np.concatenate([np.geomspace(1e-9, 1e12, 3001), np.linspace(1e-3, 40.0, 3001)])
    psi, lgamma = np.empty_like(x), np.empty_like(x)
    digamma_gammaln(backend, x, psi, lgamma)
    return psi, lgamma


def _run_e_step(backend: Backend) -> Outputs:
    items, workers, labels, indptr, n_items, n_workers = _answers()
    log_emit, log_prior, _ = _em_tables(int(n_items), int(n_workers))
    post = np.empty((int(n_items), log_prior.size))
    loglik = e_step(backend, items, workers, labels, indptr, log_emit, log_prior, post)
    return post, np.array([loglik])


def _shifted_logs(n: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Log-terms minus their row maximum (some flushed to -inf), and the maxima."""
    rng = np.random.default_rng(6)
    logs = -40 * rng.random((n, s))
    logs[rng.random((n, s)) < 0.2] = -np.inf
    logs[np.arange(n), rng.integers(0, s, n)] = 0.0
    return logs, rng.normal(size=n)


def _run_normalise(backend: Backend) -> Outputs:
    post, top = _shifted_logs(3001, 7)
    loglik = normalise(post, top, backend)
    return post, np.array([loglik])


def _run_e_step_tracked(backend: Backend) -> Outputs:
    items, workers, labels, indptr, n_items, n_workers = _answers()
    log_emit, log_prior, previous = _em_tables(int(n_items), int(n_workers))
    post = np.empty_like(previous)
    totals = np.full(log_prior.size, np.nan)
    loglik, moved = e_step_tracked(
        backend, items, workers, labels, indptr, log_emit, log_prior, post, previous, totals
    )
    return post, totals, np.array([loglik, moved])


def _run_m_step(backend: Backend) -> Outputs:
    items, workers, labels, _, n_items, n_workers = _answers()
    _, log_prior, post = _em_tables(int(n_items), int(n_workers))
    counts = np.full((int(n_workers), 3, log_prior.size), np.nan)
    _m_step.get(backend)(items, workers, labels, post, counts)
    return (counts,)


def _run_m_step_runs(backend: Backend) -> Outputs:
    items, workers, labels, _, n_items, n_workers = _answers()
    _, log_prior, post = _em_tables(int(n_items), int(n_workers))
    counts = np.full((int(n_workers), 3, log_prior.size), np.nan)
    m_step_in_runs(backend, items, workers, labels, post, counts, 3)
    return (counts,)


def _run_iou_matrix(backend: Backend) -> Outputs:
    rng = np.random.default_rng(2)
    return (iou_matrix(_boxes(rng, 40), _boxes(rng, 30), backend),)


def _run_paired_iou(backend: Backend) -> Outputs:
    rng = np.random.default_rng(3)
    return (paired_iou_kernel(_boxes(rng, 200), _boxes(rng, 200), backend),)


def _run_segment_sort(backend: Backend) -> Outputs:
    rng = np.random.default_rng(4)
    lengths = rng.integers(0, 12, size=60)  # short segments: the loop sorts them all
    n = int(lengths.sum())
    keys = rng.integers(0, 3, size=(n, 3)).astype(np.float64)
    order = rng.permutation(n).astype(np.int64)
    segment_sort(np.r_[0, np.cumsum(lengths)].astype(np.int64), keys, order, backend)
    return (order,)


def _run_cluster(backend: Backend) -> Outputs:
    rng = np.random.default_rng(5)
    starts: list[int] = [0]
    run_end: list[int] = []
    coords: list[list[int]] = []
    for _ in range(40):  # crowded groups of near-identical boxes: many conflicts
        centres = rng.integers(0, 20, size=(3, 2))
        for _worker in range(int(rng.integers(1, 6))):
            k = int(rng.integers(0, 5))
            pick = centres[rng.integers(0, 3, size=k)]
            rows = np.column_stack(
                [pick + rng.integers(-2, 3, (k, 2)), rng.integers(1, 12, (k, 2))]
            )
            rows = rows[np.lexsort(rows.T[::-1])]
            head = len(coords)
            coords.extend(rows.tolist())
            run_end.extend([head + k] * k)
        starts.append(len(coords))
    out: list[np.ndarray] = []
    for median in (False, True):
        out.extend(
            cluster_boxes(
                np.array(starts, dtype=np.int64),
                np.array(run_end, dtype=np.int64),
                np.array(coords, dtype=np.float64).reshape(-1, 4),
                0.3,
                median,
                backend,
            )
        )
    return tuple(out)


#: kernel -> (runner through its public wrapper, tolerance; 0 = bit for bit, as documented)
RUNNERS: dict[str, tuple[Kernel, Callable[[Backend], Outputs], float]] = {
    "consolidation._kernels.digamma.DIGAMMA_GAMMALN": (DIGAMMA_GAMMALN, _run_digamma, 1e-12),
    "consolidation._kernels.em._accumulate": (_accumulate, _run_e_step, 0.0),
    "consolidation._kernels.em._m_step": (_m_step, _run_m_step, 0.0),
    "consolidation._kernels.em._scale_rows": (_scale_rows, _run_normalise, 0.0),
    "consolidation._kernels.em._scale_rows_tracked": (
        _scale_rows_tracked,
        _run_e_step_tracked,
        0.0,
    ),
    "consolidation._kernels.em._m_step_runs": (_m_step_runs, _run_m_step_runs, 0.0),
    "consolidation._kernels.iou.IOU_MATRIX": (IOU_MATRIX, _run_iou_matrix, 0.0),
    "consolidation._kernels.iou.PAIRED_IOU": (PAIRED_IOU, _run_paired_iou, 0.0),
    "consolidation._kernels.iou.SEGMENT_SORT": (SEGMENT_SORT, _run_segment_sort, 0.0),
    "consolidation._kernels.iou.CLUSTER": (CLUSTER, _run_cluster, 0.0),
}


def test_every_kernel_has_a_parity_check() -> None:
    kernels = _all_kernels()
    assert set(kernels) == set(RUNNERS)
    for name, kernel in kernels.items():
        assert RUNNERS[name][0] is kernel
        assert kernel.loop is not kernel.twin
        assert kernel.get("numpy") is kernel.twin


def _assert_agree(got: Outputs, want: Outputs, tol: float) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape
        if tol == 0.0:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _spy_loop(
    monkeypatch: pytest.MonkeyPatch, kernel: Kernel, loop: Callable[..., object]
) -> list[object]:
    """Make ``kernel.get("numba")`` return ``loop``; record each time it runs."""
    calls: list[object] = []

    def spy(*args: object) -> object:
        calls.append(None)
        return loop(*args)

    monkeypatch.setattr(kernel, "compiled", lambda parallel=None: spy)
    return calls


@pytest.mark.parametrize("name", sorted(RUNNERS))
def test_plain_python_loop_matches_the_twin(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    kernel, run, tol = RUNNERS[name]
    want = run("numpy")
    calls = _spy_loop(monkeypatch, kernel, kernel.loop)
    got = run("numba")
    assert calls  # the loop really ran
    _assert_agree(got, want, tol)


#: (kernel, parallel build?): every kernel's serial build, and the parallel one where it has one.
BUILDS = [(name, False) for name in sorted(RUNNERS)]
BUILDS += [(name, True) for name in sorted(RUNNERS) if RUNNERS[name][0].parallel]


@pytest.mark.skipif(not numba_available(), reason="numba is not installed")
@pytest.mark.parametrize(("name", "parallel"), BUILDS)
def test_compiled_loop_matches_the_twin(
    monkeypatch: pytest.MonkeyPatch, name: str, parallel: bool
) -> None:
    kernel, run, tol = RUNNERS[name]
    want = run("numpy")
    build = Kernel.compiled(kernel, parallel)  # the real numba build, serial or parallel
    assert build is not None
    assert build is not kernel.loop
    calls = _spy_loop(monkeypatch, kernel, build)
    got = run("numba")
    assert calls
    _assert_agree(got, want, tol)
