"""Temperature scaling: ``quality.temper``, ``quality.fit_temperature``, ``self_temperature``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consolidation import (
    Annotations,
    BayesianDawidSkene,
    DawidSkene,
    InvalidParameterError,
    MajorityVote,
    default_estimator,
)
from consolidation.quality import calibration, fit_temperature, self_temperature, temper
from consolidation.simulate import add_copiers, classification


def _crowd_posteriors(
    n: int, k: int, true_acc: float, stated: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Posteriors whose top class is right with probability ``true_acc`` but claims ``stated``."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, k, n)
    right = rng.random(n) < true_acc
    top = np.where(right, gold, (gold + rng.integers(1, k, n)) % k)
    post = np.full((n, k), (1 - stated) / (k - 1))
    post[np.arange(n), top] = stated
    return post, gold


@given(
    st.integers(min_value=0, max_value=1000),
    st.integers(min_value=2, max_value=6),
    st.floats(min_value=0.05, max_value=50),
)
def test_temper_keeps_labels_and_distributions(seed: int, k: int, t: float) -> None:
    post = np.random.default_rng(seed).dirichlet(np.full(k, 0.3), size=40)
    post[0] = 0.0
    post[0, 0] = 1.0  # a certain row with exact zeros
    out = temper(post, t)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    # The top class never changes (rows without a tie).
    clear = np.sort(post, axis=1)[:, -1] - np.sort(post, axis=1)[:, -2] > 1e-9
    np.testing.assert_array_equal(out[clear].argmax(axis=1), post[clear].argmax(axis=1))
    assert out[0].tolist() == [1.0] + [0.0] * (k - 1)  # zeros stay zero


def test_temper_values() -> None:
    np.testing.assert_allclose(temper([[0.9, 0.1]], 1.0), [[0.9, 0.1]])
    np.testing.assert_allclose(temper([[0.9, 0.1]], 2.0), [[0.75, 0.25]])
    np.testing.assert_allclose(temper([[0.8, 0.2]], 0.5), [[16 / 17, 1 / 17]])
    assert temper(np.zeros((1, 3)), 2.0).tolist() == [[0.0, 0.0, 0.0]]


@pytest.mark.parametrize(
    "rows", [[[0.5, float("nan")]], [[1.5, -0.5]], [[float("inf"), 0.0]], [0.5]]
)
def test_temper_rejects_bad_posteriors(rows: object) -> None:
    with pytest.raises(InvalidParameterError, match="posteriors"):
        temper(rows, 2.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "2"])
def test_temper_rejects_bad_temperature(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="temperature"):
        temper([[0.5, 0.5]], bad)  # type: ignore[arg-type]


def test_calibrated_posteriors_need_no_temperature() -> None:
    post, gold = _crowd_posteriors(20_000, 3, 0.8, 0.8, seed=1)
    assert fit_temperature(post, gold) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(("true_acc", "stated"), [(0.7, 0.97), (0.9, 0.6)])
def test_temperature_repairs_over_and_under_confidence(true_acc: float, stated: float) -> None:
    post, gold = _crowd_posteriors(5_000, 4, true_acc, stated, seed=2)
    t = fit_temperature(post[:1000], gold[:1000])  # fitted on a fifth of the items
    assert (t > 1.0) == (stated > true_acc)
    before = calibration(post[1000:], gold[1000:]).ece
    after = calibration(temper(post[1000:], t), gold[1000:]).ece
    assert before > 0.2
    assert after < 0.03
    conf = temper(post[1000:], t).max(axis=1).mean()
    assert conf == pytest.approx(true_acc, abs=0.03)


def test_fit_temperature_from_an_estimator_and_a_mapping() -> None:
    rows = [("a", "w1", 0), ("a", "w2", 0), ("a", "w3", 1), ("b", "w1", 1), ("b", "w2", 1)]
    rows += [("c", "w1", 0), ("c", "w3", 1), ("c", "w2", 0)]
    rows += [("d", "w1", 1), ("d", "w2", 1), ("d", "w3", 0)]
    mv = MajorityVote(seed=0).fit(rows)
    # a, c and d say 2/3 and two of the three are right (c is not): already calibrated, so the
    # Brier score (a proper score) of the tempered top class p is lowest at p = 2/3, t = 1.
    t = fit_temperature(mv, {"a": 0, "b": 1, "c": 1, "d": 1, "zz": 0})  # unknown items ignored
    assert t == pytest.approx(1.0, abs=1e-3)
    assert fit_temperature(mv.posteriors_, [0, 1, 1, 1]) == t  # the mapping goes by item id
    # Without d, one hit and one miss at 2/3: the best p is 1/2, only reached as t grows without
    # bound, so the search stops at its upper end.
    assert fit_temperature(mv, {"a": 0, "b": 1, "c": 1}) == pytest.approx(100.0, rel=1e-3)
    with pytest.raises(InvalidParameterError, match="gold"):
        fit_temperature(mv, {"zz": 0})
    with pytest.raises(InvalidParameterError, match="gold"):
        fit_temperature(mv, [0, 1, 1])
    with pytest.raises(InvalidParameterError, match="posteriors"):
        fit_temperature([[0.5, 0.5]], [0, 1])


def test_gold_class_that_no_worker_chose_counts_as_an_error() -> None:
    post = np.array([[0.9, 0.1]] * 10)
    gold = np.array([0] * 5 + [2] * 5)  # class 2 is outside the posteriors' classes
    t = fit_temperature(post, gold)
    assert t > 1.0  # half the items are wrong whatever the temperature: flatten


def _naive_self_loss(est: BayesianDawidSkene, t: float) -> float:
    """Minus the held-out answer log-likelihood at temperature t, one answer at a time."""
    ann, state = est.annotations_, est.worker_state_
    counts = state.counts[state.lookup(ann.worker_ids)] + est.confusion_prior_[None]
    post, prior = np.asarray(est.posteriors_), np.asarray(est.priors_)
    by_item: dict[int, list[int]] = {}
    for a, i in enumerate(ann.items):
        by_item.setdefault(int(i), []).append(a)
    total = 0.0
    for a in range(ann.n_answers):
        i, j, label = ann.items[a], ann.workers[a], ann.labels[a]
        log_q = np.log(prior).copy()
        for b in by_item[int(i)]:
            if b != a:
                c = counts[ann.workers[b]]
                log_q += np.log(c[:, ann.labels[b]] / c.sum(axis=1)) / t
        q = np.exp(log_q - log_q.max())
        q /= q.sum()
        c = counts[j]
        left = (c[:, label] - post[i]) / (c.sum(axis=1) - post[i])  # without answer a's count
        total -= np.log(float(q @ left))
    return total


def test_self_temperature_matches_a_naive_reference() -> None:
    est = default_estimator().fit(add_copiers(classification(400, 6, 3, 3, seed=3)).annotations)
    t = self_temperature(est)
    grid = np.exp(np.linspace(np.log(1.2), np.log(3.2), 41))
    losses = [_naive_self_loss(est, g) for g in grid]
    best = int(np.argmin(losses))
    assert 0 < best < grid.size - 1  # an interior optimum, which the fast search must find
    assert abs(np.log(t) - np.log(grid[best])) <= np.log(grid[1] / grid[0])  # one grid step
    assert _naive_self_loss(est, t) <= min(losses) + 1e-6


def test_self_temperature_flattens_double_counted_evidence() -> None:
    sim = classification(3000, 40, 3, 3, seed=1)
    est = default_estimator().fit(add_copiers(sim).annotations)
    t = self_temperature(est)
    tempered = temper(est.posteriors_, t)
    assert 1.3 < t < 2.5
    np.testing.assert_array_equal(tempered.argmax(axis=1), est.label_codes_)
    assert calibration(tempered, sim.truth).ece < calibration(est.posteriors_, sim.truth).ece - 0.02


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_self_temperature_leaves_calibrated_posteriors_alone(seed: int) -> None:
    sim = classification(2000, 40, 3, 5, seed=seed)  # independent workers: the model is right
    est = default_estimator().fit(sim.annotations)
    t = self_temperature(est)
    assert t == pytest.approx(1.0, abs=0.01)  # never sharpens; measured 0.84-0.89 unbounded
    assert calibration(temper(est.posteriors_, t), sim.truth).ece <= 0.03


def test_self_temperature_after_a_warm_start_and_on_a_one_class_crowd() -> None:
    # After a warm start the worker counts also hold an earlier batch's answers, which are not
    # in annotations_: the temperature must still minimise the naive held-out loss.
    records = add_copiers(classification(800, 6, 3, 3, seed=3)).annotations.to_records()
    earlier = BayesianDawidSkene(backend="numpy").fit([r for r in records if r[0] < 400])
    later = BayesianDawidSkene(backend="numpy").fit(
        [r for r in records if r[0] >= 400], warm_start=earlier.worker_state_
    )
    assert later.worker_state_.n_answers.sum() == len(records)  # both batches counted
    t = self_temperature(later)
    grid = np.exp(np.linspace(0.0, np.log(4.0), 41))
    losses = [_naive_self_loss(later, g) for g in grid]
    best = int(np.argmin(losses))
    assert 0 < best < grid.size - 1  # copied answers: an interior optimum above 1
    assert abs(np.log(t) - np.log(grid[best])) <= np.log(grid[1] / grid[0])
    assert _naive_self_loss(later, t) <= min(losses) + 1e-6
    # Every answer agrees: flattening only lowers the predicted probability of the answers (the
    # naive loss grows with T), so the search stays at its lower end.
    rows = [("a", "w1", "x"), ("a", "w2", "x"), ("b", "w1", "x")]  # "y" is never answered
    same = BayesianDawidSkene().fit(Annotations.from_records(rows, classes=["x", "y"]))
    along = [_naive_self_loss(same, g) for g in (1.0, 1.1, 2.0, 10.0, 100.0)]
    assert along == sorted(along)
    assert along[0] < along[-1]
    assert self_temperature(same) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(
    "est",
    [
        MajorityVote(seed=0).fit([("a", "w", 0), ("a", "v", 1)]),
        DawidSkene().fit([("a", "w", 0), ("a", "v", 1)]),
        BayesianDawidSkene(),  # not fitted
        "an estimator",
    ],
)
def test_self_temperature_needs_a_fitted_bayesian_ds(est: object) -> None:
    with pytest.raises(InvalidParameterError, match="BayesianDawidSkene"):
        self_temperature(est)
