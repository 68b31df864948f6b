"""The pooled (hierarchical) confusion prior of BayesianDawidSkene and its place in the default."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consolidation import Annotations, InvalidParameterError
from consolidation.bayesian_ds import BayesianDawidSkene, _pooling_penalty, default_estimator
from consolidation.quality import tie_credit
from tests.strategies import crowd_annotations, degenerate_annotations

K = 4
#: Every worker's habit on a graded scale: right 55 % of the time, else mostly a neighbour grade.
HABIT = np.array(
    [
        [0.55, 0.35, 0.07, 0.03],
        [0.20, 0.55, 0.20, 0.05],
        [0.05, 0.20, 0.55, 0.20],
        [0.03, 0.07, 0.35, 0.55],
    ]
)


Crowd = tuple[list[tuple[int, int, int]], np.ndarray]


def graded_crowd(
    n_items: int = 1500, n_workers: int = 500, per_item: int = 4, seed: int = 0
) -> Crowd:
    """Many workers with a handful of answers each, who all share :data:`HABIT` (plus noise)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, K, n_items)
    own = np.stack([rng.dirichlet(40 * row, size=n_workers) for row in HABIT], axis=1)
    rows = []
    for i in range(n_items):
        for w in rng.choice(n_workers, size=per_item, replace=False):
            rows.append((i, int(w), int(rng.choice(K, p=own[w, truth[i]]))))
    return rows, truth


@pytest.fixture(scope="module")
def crowd() -> Crowd:
    return graded_crowd()


def test_the_pooled_prior_learns_the_crowds_habit(crowd: Crowd) -> None:
    rows, _ = crowd
    est = BayesianDawidSkene(n_subtypes=1, pooled_prior=10.0, backend="numpy").fit(rows)
    prior = est.confusion_prior_
    assert prior.shape == (K, K)
    np.testing.assert_allclose(prior.sum(axis=1), 10.0, rtol=1e-9)  # the total is kept
    # The mean moved from the symmetric start (4-1: 4/7 right, 1/7 for every other grade) to
    # the crowd's habit: wherever the habit makes one answer likelier than another by 0.1 or
    # more, so does the learned prior. (It is not the habit itself: the prior's mean is fitted
    # to E[log pi], and the posteriors it is counted from are sharper than the truth.)
    mean = prior / 10.0
    for r in range(K):
        for a in range(K):
            for b in range(K):
                if HABIT[r, a] > HABIT[r, b] + 0.1:
                    assert mean[r, a] > mean[r, b] + 0.05, (r, a, b, mean)
    np.testing.assert_allclose(mean, HABIT, atol=0.12)
    fixed = BayesianDawidSkene(n_subtypes=1, backend="numpy").fit(rows)
    np.testing.assert_allclose(fixed.confusion_prior_, 3.0 * np.eye(K) + 1.0)


def test_the_pooled_prior_is_more_accurate_where_workers_answer_little(
    crowd: Crowd,
) -> None:
    rows, truth = crowd
    fixed = BayesianDawidSkene(n_subtypes=1, backend="numpy").fit(rows)
    pooled = BayesianDawidSkene(n_subtypes=1, pooled_prior=10.0, backend="numpy").fit(rows)
    acc_fixed = tie_credit(fixed.posteriors_, truth).mean()
    acc_pooled = tie_credit(pooled.posteriors_, truth).mean()
    assert acc_pooled >= acc_fixed + 0.01, (acc_fixed, acc_pooled)
    # The default sees it too: the pooled setting wins even after its BIC price.
    est = default_estimator().fit(rows)
    assert est.selected_params_["pooled_prior"] == 10.0
    assert est.setting_scores_.argmax() == 3


def test_elbo_never_decreases_with_a_pooled_prior(crowd: Crowd) -> None:
    # Refitting the prior's mean is one more coordinate-ascent step on the same bound.
    rows, _ = crowd
    for m in (1, 3):
        est = BayesianDawidSkene(n_subtypes=m, pooled_prior=10.0, tol=1e-6).fit(rows)
        lls = est.log_likelihoods_
        assert np.all(np.diff(lls) >= -1e-9 * np.abs(lls[:-1])), m


def test_selection_charges_a_pooled_setting_bics_price(crowd: Crowd) -> None:
    rows, _ = crowd
    alternatives = [{"pooled_prior": 10.0}, {"n_subtypes": 1, "pooled_prior": 5.0}]
    est = BayesianDawidSkene(alternatives=alternatives, backend="numpy").fit(rows)
    n_workers = len(est.worker_ids_)
    penalty = 0.5 * np.log(n_workers) * np.array([0.0, K * 3 * (K - 1), K * 1 * (K - 1)])
    np.testing.assert_allclose(est.setting_scores_, est.setting_elbos_ - penalty, rtol=1e-12)
    kept = int(est.setting_scores_.argmax())
    assert est.elbo_ == est.setting_elbos_[kept]
    assert _pooling_penalty({"pooled_prior": None, "n_subtypes": 3}, K, n_workers) == 0.0


@pytest.mark.parametrize("m", [1, 3])
def test_backends_agree_with_a_pooled_prior(m: int, crowd: Crowd) -> None:
    rows, _ = crowd
    a = BayesianDawidSkene(n_subtypes=m, pooled_prior=10.0, backend="numba").fit(rows)
    b = BayesianDawidSkene(n_subtypes=m, pooled_prior=10.0, backend="numpy").fit(rows)
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.posteriors_, b.posteriors_, atol=1e-9, rtol=0)
    np.testing.assert_allclose(a.confusion_prior_, b.confusion_prior_, atol=1e-9, rtol=0)


def test_a_pooled_fit_is_deterministic_and_warm_starts(crowd: Crowd) -> None:
    rows, truth = crowd
    first, second = rows[: len(rows) // 2], rows[len(rows) // 2 :]
    est = BayesianDawidSkene(n_subtypes=1, pooled_prior=10.0, backend="numpy")
    a, b = est.fit(first).posteriors_.copy(), est.fit(first).posteriors_
    np.testing.assert_array_equal(a, b)
    state = est.worker_state_
    later = BayesianDawidSkene(n_subtypes=1, pooled_prior=10.0, backend="numpy")
    later.fit(second, warm_start=state)
    assert np.all(np.isfinite(later.posteriors_))
    np.testing.assert_allclose(later.posteriors_.sum(axis=1), 1.0)
    items = np.asarray(later.item_ids_, dtype=int)
    assert tie_credit(later.posteriors_, truth[items]).mean() > 0.6


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf"), "10"])
def test_pooled_prior_is_checked(value: Any) -> None:
    with pytest.raises(InvalidParameterError, match="pooled_prior"):
        BayesianDawidSkene(pooled_prior=value).fit([(0, 0, 0), (0, 1, 1)])
    with pytest.raises(InvalidParameterError, match="pooled_prior"):
        BayesianDawidSkene(alternatives=[{"pooled_prior": value}]).fit([(0, 0, 0), (0, 1, 1)])


def test_inverse_digamma_inverts_digamma() -> None:
    from scipy.special import digamma

    from consolidation._dirichlet import inverse_digamma

    x = np.geomspace(1e-4, 1e4, 200)
    np.testing.assert_allclose(inverse_digamma(digamma(x)), x, rtol=1e-10)


def test_pooled_mean_maximises_the_dirichlet_likelihood_at_its_total() -> None:
    """Minka's fixed point against a general-purpose optimiser of the same objective."""
    from scipy.optimize import minimize
    from scipy.special import digamma, gammaln, softmax

    from consolidation._dirichlet import pooled_mean

    rng = np.random.default_rng(3)
    strength = 7.0
    # Average E[log pi] of 50 workers' Dirichlet posteriors: a column per state.
    alphas = rng.gamma(2.0, 2.0, size=(50, 4, 3)) + 0.2
    mean_elog = (digamma(alphas) - digamma(alphas.sum(axis=1, keepdims=True))).mean(axis=0)
    got = pooled_mean(np.ones((4, 3)), mean_elog, strength)
    np.testing.assert_allclose(got.sum(axis=0), strength, rtol=1e-12)
    for state in range(3):
        s = mean_elog[:, state]

        def loss(z: np.ndarray, s: np.ndarray = s) -> float:
            b = strength * softmax(z)
            return float(-(gammaln(strength) - gammaln(b).sum() + ((b - 1) * s).sum()))

        best = minimize(loss, np.zeros(4), method="BFGS", options={"gtol": 1e-10})
        np.testing.assert_allclose(got[:, state], strength * softmax(best.x), atol=1e-5)
        assert loss(np.log(got[:, state])) <= best.fun + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.one_of(crowd_annotations(), degenerate_annotations()), st.sampled_from([1, 2]))
def test_pooled_fits_stay_finite_on_any_crowd(ann: Annotations, m: int) -> None:
    """Degenerate crowds (one answer, unused classes, one worker, one class) included."""
    est = BayesianDawidSkene(n_subtypes=m, pooled_prior=10.0, backend="numpy", max_iter=60)
    est.fit(ann)
    post = est.posteriors_
    assert np.all(np.isfinite(post))
    assert np.all(post >= 0)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.isfinite(est.confusion_prior_))
    assert np.all(est.confusion_prior_ > 0)
    np.testing.assert_allclose(est.confusion_prior_.sum(axis=1), 10.0, rtol=1e-12)
    assert np.all(np.isfinite(est.confusions_))
    assert np.isfinite(est.elbo_)
    lls = est.log_likelihoods_
    assert np.all(np.diff(lls) >= -1e-6 * np.abs(lls[:-1]))
