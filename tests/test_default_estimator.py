"""The default estimator (BayesianDawidSkene): contract, parity, determinism, accuracy, ECE."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import consolidation
from consolidation import (
    Annotations,
    InvalidParameterError,
    MajorityVote,
    NotFittedError,
    WorkerState,
)
from consolidation.bayesian_ds import BayesianDawidSkene, default_estimator
from consolidation.quality import calibration, tie_credit
from consolidation.simulate import classification

ROWS = [
    ("i1", "w1", "cat"), ("i1", "w2", "cat"), ("i1", "w3", "dog"),
    ("i2", "w1", "dog"), ("i2", "w2", "dog"), ("i2", "w3", "dog"),
    ("i3", "w1", "fox"), ("i3", "w2", "cat"), ("i3", "w3", "fox"),
    ("i4", "w1", "cat"), ("i4", "w3", "cat"),
]  # fmt: skip


def test_package_exposes_default_estimator() -> None:
    assert hasattr(consolidation, "default_estimator"), (
        "consolidation/__init__.py must export default_estimator (from .bayesian_ds)"
    )
    est = consolidation.default_estimator()
    assert isinstance(est, BayesianDawidSkene)


def test_default_estimator_is_fresh_and_unfitted() -> None:
    a, b = default_estimator(), default_estimator()
    assert a is not b
    assert a.get_params() == b.get_params()
    with pytest.raises(NotFittedError):
        list(a.results())
    a.fit(ROWS)
    assert not hasattr(b, "posteriors_")


def test_contract_attributes_and_shapes() -> None:
    est = BayesianDawidSkene(backend="numpy")
    assert est.fit(ROWS) is est
    n, k, w = 4, 3, 3
    assert est.posteriors_.shape == (n, k)
    np.testing.assert_allclose(est.posteriors_.sum(axis=1), 1.0)
    np.testing.assert_allclose(est.confidence_, est.posteriors_.max(axis=1))
    assert est.confusions_.shape == (w, k, k)
    np.testing.assert_allclose(est.confusions_.sum(axis=2), 1.0)
    np.testing.assert_allclose(est.priors_.sum(), 1.0)
    np.testing.assert_allclose(est.subtype_weights_.sum(axis=1), 1.0)
    labels = est.labels_.tolist()
    assert [labels[0], labels[1], labels[3]] == ["cat", "dog", "cat"]  # unanimous or 2-of-3
    assert est.worker_ids_.tolist() == ["w1", "w2", "w3"]
    assert est.log_likelihoods_.shape == (est.n_iter_,)
    assert est.restart_elbos_.shape == (3,)
    assert est.elbo_ == est.restart_elbos_.max()
    assert est.setting_elbos_.tolist() == [est.elbo_]
    assert est.selected_params_ == {
        "n_subtypes": 3, "diag_prior": 4.0, "off_prior": 1.0, "subtype_prior": 0.1,
        "pooled_prior": None,
    }  # fmt: skip
    assert isinstance(est.worker_state_, WorkerState)
    assert isinstance(est.annotations_, Annotations)
    assert est.fit_predict(ROWS).tolist() == est.labels_.tolist()
    np.testing.assert_allclose(est.fit_predict_proba(ROWS), est.posteriors_)
    assert [r[0] for r in est.results()] == ["i1", "i2", "i3", "i4"]
    assert "n_subtypes=1" in repr(BayesianDawidSkene(n_subtypes=1))


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n_subtypes", 0),
        ("n_subtypes", 1.5),
        ("n_restarts", 0),
        ("diag_prior", 0.0),
        ("off_prior", -1.0),
        ("subtype_prior", float("nan")),
        ("class_prior", "uniform"),
        ("class_prior", 0.0),
        ("max_iter", 0),
        ("tol", -1.0),
        ("seed", -1),
        ("backend", "gpu"),
    ],
)
def test_invalid_parameters_raise_at_fit(param: str, value: object) -> None:
    est = BayesianDawidSkene(**{param: value})  # stored, not checked
    with pytest.raises(InvalidParameterError, match=param):
        est.fit(ROWS)


@pytest.mark.parametrize(
    "alternatives",
    [
        {"n_subtypes": 1},  # a dict, not a sequence of dicts
        "n_subtypes",
        5,
        [{"n_subtypes": 1, "tol": 0.1}],  # not a setting an alternative may change
        [{"n_subtypes": 0}],
        [{"diag_prior": -2.0}],
        [["n_subtypes", 1]],
    ],
)
def test_invalid_alternatives_raise_at_fit(alternatives: object) -> None:
    est = BayesianDawidSkene(alternatives=alternatives)
    with pytest.raises(InvalidParameterError, match=r"parameter 'alternatives(\[0\]: \w+)?'"):
        est.fit(ROWS)


def test_alternatives_keep_the_setting_with_the_highest_elbo() -> None:
    ann = classification(500, 30, 3, 4, seed=21).annotations
    settings = [
        {},
        {"n_subtypes": 1},
        {"n_subtypes": 1, "diag_prior": 1.0, "off_prior": 0.1},
        {"n_subtypes": 2, "subtype_prior": 1.0},
    ]
    alone = [BayesianDawidSkene(backend="numpy", **s).fit(ann) for s in settings]
    est = BayesianDawidSkene(backend="numpy", alternatives=settings[1:]).fit(ann)
    # Each setting's best ELBO is what fitting that setting alone gives (same seed) ...
    np.testing.assert_allclose(est.setting_elbos_, [a.elbo_ for a in alone], rtol=1e-12)
    # ... and the estimator is exactly the fit of the setting with the highest one.
    best = alone[int(np.argmax(est.setting_elbos_))]
    assert est.elbo_ == best.elbo_ == est.setting_elbos_.max()
    np.testing.assert_array_equal(est.posteriors_, best.posteriors_)
    np.testing.assert_array_equal(est.confusions_, best.confusions_)
    np.testing.assert_array_equal(est.restart_elbos_, best.restart_elbos_)
    assert est.subtype_weights_.shape == best.subtype_weights_.shape
    assert est.selected_params_["n_subtypes"] == best.n_subtypes
    assert est.selected_params_["diag_prior"] == best.diag_prior


def test_default_chooses_subtypes_for_correlated_errors_and_none_otherwise() -> None:
    """EBCC's subtypes should win only where a clique of workers errs together."""
    independent = classification(1500, 40, 3, 5, seed=4).annotations
    est = default_estimator().fit(independent)
    assert est.selected_params_["n_subtypes"] == 1
    # A clique of 6 workers that answers class 1 on a third of class-0 items, all together.
    rng = np.random.default_rng(0)
    n, rows = 900, []
    truth = rng.integers(0, 3, n)
    tricky = (truth == 0) & (rng.random(n) < 0.35)
    for i in range(n):
        for w in rng.choice(12, size=6, replace=False):
            if w < 6 and tricky[i]:
                label = 1
            else:
                label = truth[i] if rng.random() < 0.8 else rng.integers(0, 3)
            rows.append((i, int(w), int(label)))
    est = default_estimator().fit(rows)
    assert est.selected_params_["n_subtypes"] == 3
    assert est.setting_scores_.argmax() == 0


def test_burn_in_keeps_the_best_restart_and_continues_it_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dropping restarts after the burn-in changes nothing when the same restart wins."""
    from consolidation import bayesian_ds

    ann = classification(600, 30, 3, 4, seed=3).annotations
    early = BayesianDawidSkene(backend="numpy", tol=1e-6).fit(ann)
    assert early.n_iter_ > bayesian_ds._BURN_IN  # the kept restart ran past the burn-in
    assert early.restart_elbos_.shape == (3,)
    assert early.elbo_ >= early.restart_elbos_.max() - 1e-9 * abs(early.elbo_)
    monkeypatch.setattr(bayesian_ds, "_BURN_IN", 10**6)  # every restart to convergence
    full = BayesianDawidSkene(backend="numpy", tol=1e-6).fit(ann)
    assert np.argmax(full.restart_elbos_) == np.argmax(early.restart_elbos_)
    assert full.elbo_ == early.elbo_
    assert full.n_iter_ == early.n_iter_
    np.testing.assert_array_equal(full.posteriors_, early.posteriors_)
    np.testing.assert_array_equal(full.log_likelihoods_, early.log_likelihoods_)


def test_single_subtype_runs_once() -> None:
    est = BayesianDawidSkene(n_subtypes=1, n_restarts=5, backend="numpy").fit(ROWS)
    assert est.restart_elbos_.shape == (1,)
    assert est.subtype_weights_.shape == (3, 1)


def test_elbo_never_decreases_much() -> None:
    sim = classification(300, 20, 3, 4, seed=3)
    est = BayesianDawidSkene(n_subtypes=1, backend="numpy", tol=1e-8).fit(sim.annotations)
    lls = est.log_likelihoods_
    assert np.all(np.diff(lls) >= -1e-6 * np.abs(lls[:-1]))


@pytest.mark.parametrize("n_subtypes", [1, 3])
def test_numba_and_numpy_agree(n_subtypes: int) -> None:
    ann = classification(400, 25, 4, 5, seed=11).annotations
    a = BayesianDawidSkene(n_subtypes=n_subtypes, backend="numba").fit(ann)
    b = BayesianDawidSkene(n_subtypes=n_subtypes, backend="numpy").fit(ann)
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(a.posteriors_, b.posteriors_, atol=1e-9, rtol=0)
    np.testing.assert_allclose(a.confusions_, b.confusions_, atol=1e-9, rtol=0)
    np.testing.assert_allclose(a.restart_elbos_, b.restart_elbos_, rtol=1e-9)


def test_deterministic_for_a_seed() -> None:
    ann = classification(300, 20, 3, 4, seed=5).annotations
    a = BayesianDawidSkene(seed=7, backend="numpy").fit(ann)
    b = BayesianDawidSkene(seed=7, backend="numpy").fit(ann)
    np.testing.assert_array_equal(a.posteriors_, b.posteriors_)
    np.testing.assert_array_equal(a.restart_elbos_, b.restart_elbos_)


def test_perfect_workers_give_the_truth() -> None:
    sim = classification(200, 6, 4, 3, worker_mix={"perfect": 1.0}, seed=2)
    est = BayesianDawidSkene(backend="numpy").fit(sim.annotations)
    np.testing.assert_array_equal(est.label_codes_, sim.truth)


def test_warm_start_round_trip() -> None:
    sim = classification(400, 20, 3, 4, seed=8)
    ann = sim.annotations
    half = ann.items < 200
    first = Annotations.from_records([r for r, h in zip(ann.to_records(), half, strict=True) if h])
    second = Annotations.from_records(
        [r for r, h in zip(ann.to_records(), half, strict=True) if not h], classes=[0, 1, 2]
    )
    a = BayesianDawidSkene(backend="numpy").fit(first)
    b = BayesianDawidSkene(backend="numpy").fit(second, warm_start=a.worker_state_)
    assert set(b.worker_state_.worker_ids) >= set(a.worker_state_.worker_ids)
    credit = tie_credit(b.posteriors_, sim.truth[np.asarray(second.item_ids, dtype=int)])
    assert credit.mean() > 0.85


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("n", "w", "k", "r"), [(2000, 50, 3, 5), (3000, 100, 5, 5)])
def test_simulated_mixed_crowds_accuracy_and_calibration(
    seed: int, n: int, w: int, k: int, r: int
) -> None:
    sim = classification(n, w, k, r, seed=seed)  # default mix: reliable..adversarial
    mv = MajorityVote(seed=0).fit(sim.annotations)
    est = default_estimator().fit(sim.annotations)
    acc_mv = tie_credit(mv.posteriors_, sim.truth).mean()
    acc = tie_credit(est.posteriors_, sim.truth).mean()
    assert acc >= acc_mv
    assert calibration(est.posteriors_, sim.truth).ece <= 0.03


@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=2, max_value=5),
    st.integers(min_value=1, max_value=4),
)
def test_posteriors_are_distributions(seed: int, k: int, r: int) -> None:
    sim = classification(60, 8, k, r, seed=seed)
    est = BayesianDawidSkene(backend="numpy", max_iter=50).fit(sim.annotations)
    post = est.posteriors_
    assert np.all(np.isfinite(post))
    assert np.all(post >= 0)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.isfinite(est.confusions_))
    assert np.isfinite(est.elbo_)
    assert set(est.labels_.tolist()) <= set(sim.annotations.classes.tolist())


# ---------------------------------------------------------------- a known class mix


def test_known_class_mix_is_held_fixed_in_either_form() -> None:
    by_name = BayesianDawidSkene(class_prior={"cat": 2, "dog": 1, "fox": 1}, backend="numpy")
    by_order = BayesianDawidSkene(class_prior=[0.5, 0.25, 0.25], backend="numpy")
    a, b = by_name.fit(ROWS), by_order.fit(ROWS)
    np.testing.assert_allclose(a.priors_, [0.5, 0.25, 0.25], rtol=1e-12)
    np.testing.assert_array_equal(a.posteriors_, b.posteriors_)
    np.testing.assert_allclose(a.posteriors_.sum(axis=1), 1.0)
    assert np.all(np.diff(a.log_likelihoods_) >= -1e-6 * np.abs(a.log_likelihoods_[:-1]))


def test_known_class_mix_moves_uncertain_items_towards_the_likely_class() -> None:
    sim = classification(600, 30, 2, 3, seed=4)
    ann = sim.annotations
    anchored = BayesianDawidSkene(n_subtypes=1, backend="numpy").fit(ann)
    for favoured in (0, 1):
        mix = [0.02, 0.02]
        mix[favoured] = 0.98
        est = BayesianDawidSkene(n_subtypes=1, class_prior=mix, backend="numpy").fit(ann)
        assert np.sum(est.label_codes_ == favoured) > np.sum(anchored.label_codes_ == favoured)
        # and no item that the answers already give to the favoured class leaves it
        assert np.all(est.label_codes_[anchored.label_codes_ == favoured] == favoured)


def test_true_class_mix_helps_on_an_imbalanced_crowd_that_over_answers_one_class() -> None:
    # The truth is 80 % class 0, but workers say class 1 too often: the answers' class mix is
    # biased, and so is a prior anchored to it. Knowing the mix corrects for that.
    rng = np.random.default_rng(0)
    n, w = 2000, 40
    truth = (rng.random(n) < 0.2).astype(int)
    items, workers, labels = [], [], []
    for i in range(n):
        for wk in rng.choice(w, size=3, replace=False):
            says_one = rng.random() < (0.85 if truth[i] == 1 else 0.35)
            items.append(i)
            workers.append(int(wk))
            labels.append(int(says_one))
    ann = Annotations.from_codes(items, workers, labels, n_classes=2)
    anchored = BayesianDawidSkene(n_subtypes=1, backend="numpy").fit(ann)
    known = BayesianDawidSkene(n_subtypes=1, class_prior=[0.8, 0.2], backend="numpy").fit(ann)
    acc_anchored = float(np.mean(anchored.label_codes_ == truth))
    acc_known = float(np.mean(known.label_codes_ == truth))
    assert acc_known > acc_anchored + 0.01


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        ({"cat": 1, "dog": 1}, "missing \\['fox'\\]"),
        ({"cat": 1, "dog": 1, "fox": 1, "cow": 1}, "unknown \\['cow'\\]"),
        ([1.0, 1.0], "3 weights"),
        ([1.0, 0.0, 1.0], "positive finite weight"),
        ([1.0, float("nan"), 1.0], "positive finite weight"),
        (["a", "b", "c"], "numeric weights"),
        ("uniform", "'majority', a positive number, or the known class mix"),
        (object(), "'majority', a positive number, or the known class mix"),
    ],
)
def test_known_class_mix_is_checked(prior: object, message: str) -> None:
    with pytest.raises(InvalidParameterError, match="class_prior") as exc:
        BayesianDawidSkene(class_prior=prior, backend="numpy").fit(ROWS)
    assert exc.match(message)


def test_known_class_mix_backends_agree_and_warm_start_keeps_it() -> None:
    ann = classification(400, 25, 3, 4, seed=2).annotations
    kw = {"n_subtypes": 3, "class_prior": [0.6, 0.3, 0.1]}
    a = BayesianDawidSkene(**kw, backend="numba").fit(ann)
    b = BayesianDawidSkene(**kw, backend="numpy").fit(ann)
    np.testing.assert_allclose(a.posteriors_, b.posteriors_, atol=1e-9, rtol=0)
    again = BayesianDawidSkene(**kw, backend="numpy").fit(ann, warm_start=b.worker_state_)
    np.testing.assert_allclose(again.priors_, [0.6, 0.3, 0.1], rtol=1e-12)


def test_known_class_mix_from_a_series_goes_by_class_name_not_position() -> None:
    pd = pytest.importorskip("pandas")
    series = pd.Series({"fox": 1.0, "dog": 1.0, "cat": 2.0})  # not in class order
    est = BayesianDawidSkene(class_prior=series, backend="numpy").fit(ROWS)
    np.testing.assert_allclose(est.priors_, [0.5, 0.25, 0.25], rtol=1e-12)  # cat, dog, fox


def test_make_estimator_passes_seed_and_backend_to_the_default() -> None:
    from consolidation._methods import make_estimator

    est = make_estimator("default", seed=5, backend="numpy")
    params = est.get_params()
    assert (params["seed"], params["backend"]) == (5, "numpy")
    assert est.get_params()["alternatives"] == default_estimator().get_params()["alternatives"]
    assert make_estimator("default", seed=None).get_params()["seed"] == 0
    ann = classification(300, 12, 3, 4, seed=2).annotations
    same = default_estimator().set_params(seed=5, backend="numpy").fit(ann)
    np.testing.assert_array_equal(est.fit(ann).posteriors_, same.posteriors_)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_smallest_pooled_prior_stays_finite_and_smaller_ones_are_refused(backend: str) -> None:
    from consolidation import InvalidParameterError
    from consolidation.simulate import classification

    ann = classification(60, 5, 5, 4, seed=2).annotations
    est = BayesianDawidSkene(pooled_prior=0.01, backend=backend).fit(ann)
    for name in ("posteriors_", "confusions_", "confusion_prior_"):
        assert np.isfinite(getattr(est, name)).all()
    assert np.isfinite(est.elbo_)
    with pytest.raises(InvalidParameterError, match="'pooled_prior'"):
        BayesianDawidSkene(pooled_prior=1e-4, backend=backend).fit(ann)  # was NaN or a crash


def test_a_bad_alternative_is_named_by_its_index() -> None:
    from consolidation import InvalidParameterError

    est = BayesianDawidSkene(alternatives=({"n_subtypes": 1}, {"n_subtypes": 0}))
    with pytest.raises(InvalidParameterError, match=r"'alternatives\[1\]: n_subtypes'"):
        est.fit([("a", "w1", 0), ("a", "w2", 1)])
