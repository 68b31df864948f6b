"""The fused digamma / log-gamma kernel against scipy, and dirichlet_stats on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import digamma, gammaln

from consolidation._dirichlet import dirichlet_stats, kl_dirichlet
from consolidation._kernels import digamma as kernel_module
from consolidation._kernels import numba_available
from consolidation._kernels._backend import Backend, serial_kernels
from consolidation._kernels.digamma import _psi_lgamma, digamma_gammaln

needs_numba = pytest.mark.skipif(not numba_available(), reason="numba is not installed")

#: Pseudo-counts as the fits make them: pooled means clipped at 1e-9 times their strength,
#: subtype priors 0.1 / M, counts of up to millions of answers; and far beyond, both ways.
WIDE = np.concatenate(
    [
        np.geomspace(1e-9, 1e12, 200_001),
        np.linspace(1e-3, 40.0, 100_001),  # the shifted range, the zero of psi at 1.4616
        np.geomspace(1e-300, 1e300, 20_001),
        np.arange(1.0, 60.0),  # integers: psi(n) = H(n-1) - gamma, lgamma(1) = lgamma(2) = 0
        [1.4616321449683622, 7.999999999999999, 8.0, 8.000000000000002],
    ]
)


def _errors(got: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """Largest absolute error where |ref| < 1, largest relative error elsewhere."""
    err = np.abs(got - ref)
    small = np.abs(ref) < 1
    return float(err[small].max(initial=0.0)), float((err[~small] / np.abs(ref[~small])).max())


def _kernel(backend: Backend, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    psi, lgamma = np.empty_like(x), np.empty_like(x)
    digamma_gammaln(backend, x, psi, lgamma)
    return psi, lgamma


@needs_numba
def test_kernel_matches_scipy_from_1e_minus_300_to_1e300() -> None:
    psi, lgamma = _kernel("numba", WIDE)
    abs_psi, rel_psi = _errors(psi, digamma(WIDE))
    abs_lg, rel_lg = _errors(lgamma, gammaln(WIDE))
    # Measured: psi 1.9e-15 absolute, 1.9e-15 relative; lgamma 6.8e-15 and 6.0e-15.
    assert abs_psi <= 5e-15
    assert rel_psi <= 5e-15
    assert abs_lg <= 2e-14
    assert rel_lg <= 2e-14


def test_helper_runs_as_plain_python_with_the_same_accuracy() -> None:
    x = np.concatenate([np.geomspace(1e-9, 1e12, 2001), np.linspace(0.01, 20.0, 2001)])
    got = np.array([_psi_lgamma(float(v)) for v in x])
    assert max(_errors(got[:, 0], digamma(x))) <= 5e-15
    assert max(_errors(got[:, 1], gammaln(x))) <= 2e-14


def test_numpy_backend_is_scipy() -> None:
    x = np.geomspace(1e-6, 1e6, 1001)
    psi, lgamma = _kernel("numpy", x)
    np.testing.assert_array_equal(psi, digamma(x))
    np.testing.assert_array_equal(lgamma, gammaln(x))


@needs_numba
@pytest.mark.parametrize("value", [1e-9, 1e-6, 0.025, 1.0, 2.0, 7.5, 8.0, 1e6, 1e12])
def test_kernel_edge_values(value: float) -> None:
    x = np.full(3, value)
    psi, lgamma = _kernel("numba", x)
    assert abs(psi[0] - digamma(value)) <= 5e-15 * max(1.0, abs(digamma(value)))
    assert abs(lgamma[0] - gammaln(value)) <= 2e-14 * max(1.0, abs(gammaln(value)))


def _random_pseudo_counts(shape: tuple[int, ...], seed: int, scale: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a: np.ndarray
    if scale == "tiny":  # clipped pooled means, sparse subtype priors
        a = rng.uniform(1e-9, 1e-3, size=shape)
    elif scale == "large":  # counts of prolific workers
        a = rng.uniform(1e3, 1e12, size=shape)
    else:
        a = rng.gamma(0.5, 4.0, size=shape) + rng.choice([1e-9, 0.1, 1.0, 4.0], size=shape)
    return a


@needs_numba
@pytest.mark.parametrize("scale", ["tiny", "typical", "large"])
@pytest.mark.parametrize(
    ("shape", "axis"),
    [((7,), 0), ((5, 3), 1), ((4, 6), 0), ((30, 5, 15), 1), ((3, 4, 5, 2), 2), ((2, 3, 4), 0)],
)
def test_dirichlet_stats_backends_agree(shape: tuple[int, ...], axis: int, scale: str) -> None:
    a = _random_pseudo_counts(shape, seed=len(shape) * 10 + axis, scale=scale)
    e_numba, lb_numba = dirichlet_stats(a, axis, "numba")
    e_numpy, lb_numpy = dirichlet_stats(a, axis, "numpy")
    assert e_numba.shape == a.shape
    # E[log p] = psi(a) - psi(total): errors of a few ulps of the larger of the two terms.
    tol = 1e-14 * np.maximum(1.0, np.abs(digamma(a)) + np.abs(digamma(a.sum(axis, keepdims=True))))
    assert np.all(np.abs(e_numba - e_numpy) <= tol)
    assert lb_numba == pytest.approx(lb_numpy, rel=1e-12, abs=1e-9)


def test_numpy_backend_keeps_the_scipy_formula_bit_for_bit() -> None:
    a = _random_pseudo_counts((40, 5, 15), seed=3, scale="typical")
    total = a.sum(axis=1, keepdims=True)
    elog, log_beta = dirichlet_stats(a, 1)
    np.testing.assert_array_equal(elog, digamma(a) - digamma(total))
    assert log_beta == float(gammaln(a).sum() - gammaln(total).sum())


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_dirichlet_stats_writes_into_the_given_buffers(backend: Backend) -> None:
    a = _random_pseudo_counts((6, 3, 4), seed=1, scale="typical")
    out, work = np.full_like(a, np.nan), np.full_like(a, np.nan)
    elog, log_beta = dirichlet_stats(a, 1, backend, out=out, work=work)
    assert elog is out
    fresh, fresh_beta = dirichlet_stats(a, 1, backend)
    np.testing.assert_array_equal(out, fresh)
    assert log_beta == fresh_beta
    np.testing.assert_allclose(work, gammaln(a), rtol=1e-13, atol=2e-14)


@needs_numba
def test_parallel_and_serial_builds_are_bit_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    a = _random_pseudo_counts((400, 5, 15), seed=2, scale="typical")
    monkeypatch.setattr(kernel_module, "PARALLEL_MIN_CELLS", 0)
    parallel = dirichlet_stats(a, 1, "numba")
    with serial_kernels():
        serial = dirichlet_stats(a, 1, "numba")
    np.testing.assert_array_equal(parallel[0], serial[0])
    assert parallel[1] == serial[1]


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_kl_dirichlet_is_zero_on_itself_and_positive_elsewhere(backend: Backend) -> None:
    rng = np.random.default_rng(4)
    a = rng.gamma(2.0, 1.0, size=(8, 5)) + 0.05
    b = rng.gamma(2.0, 1.0, size=(8, 5)) + 0.05
    assert kl_dirichlet(a, a, 1, backend) == pytest.approx(0.0, abs=1e-12)
    assert kl_dirichlet(a, b, 1, backend) > 0
    # The textbook formula, one simplex (row) at a time.
    naive = 0.0
    for x, y in zip(a, b, strict=True):
        x0, y0 = x.sum(), y.sum()
        naive += gammaln(x0) - gammaln(x).sum() - gammaln(y0) + gammaln(y).sum()
        naive += float(((x - y) * (digamma(x) - digamma(x0))).sum())
    assert kl_dirichlet(a, b, 1, backend) == pytest.approx(naive, rel=1e-12)
    assert kl_dirichlet(b.T, a.T, 0, backend) == pytest.approx(
        kl_dirichlet(b, a, 1, backend), rel=1e-12
    )  # the axis picks the simplex


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_dirichlet_stats_of_a_non_contiguous_array(backend: Backend) -> None:
    a = _random_pseudo_counts((6, 4, 5), seed=5, scale="typical")
    view = a.transpose(2, 1, 0)  # F-ordered: copied to C order, not written through a copy
    elog, log_beta = dirichlet_stats(view, 1, backend)
    expected, expected_beta = dirichlet_stats(np.ascontiguousarray(view), 1, backend)
    np.testing.assert_array_equal(elog, expected)
    assert log_beta == expected_beta
