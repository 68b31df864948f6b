"""Unit tests of the classification core: worked examples, contracts, errors, warm start."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from consolidation import (
    AnnotationError,
    Annotations,
    BoxConsolidator,
    DawidSkene,
    InvalidParameterError,
    MajorityVote,
    ModifiedDawidSkene,
    MultiLabelConsolidator,
    NotFittedError,
    WorkerState,
    default_estimator,
)
from consolidation._kernels import resolve_backend
from consolidation.dawid_skene import one_coin

# Reference section 1.9: classes [cat, dog, fox], three workers, four items.
WORKED = [
    ("i1", "w1", "cat"), ("i1", "w2", "cat"), ("i1", "w3", "dog"),
    ("i2", "w1", "dog"), ("i2", "w2", "dog"), ("i2", "w3", "dog"),
    ("i3", "w1", "fox"), ("i3", "w2", "cat"), ("i3", "w3", "fox"),
    ("i4", "w1", "cat"), ("i4", "w3", "cat"),
]  # fmt: skip
CLASSES = ["cat", "dog", "fox"]
# Posteriors after each E-step, from the table of reference section 1.9.
WORKED_POSTERIORS = {
    1: [[0.7935, 0.1700, 0.0364], [0.0096, 0.9807, 0.0096],
        [0.1700, 0.0364, 0.7935], [0.9159, 0.0421, 0.0421]],
    2: [[0.9246, 0.0631, 0.0123], [0.0076, 0.9898, 0.0026],
        [0.0939, 0.0121, 0.8941], [0.9743, 0.0155, 0.0102]],
    3: [[0.9702, 0.0239, 0.0059], [0.0046, 0.9941, 0.0013],
        [0.0488, 0.0046, 0.9466], [0.9888, 0.0063, 0.0049]],
}  # fmt: skip
WORKED_PRIORS = {1: [1 / 3, 1 / 3, 1 / 3], 2: [0.4723, 0.3073, 0.2204], 3: [0.5001, 0.2701, 0.2298]}
BACKENDS = ["numpy", "numba"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("epochs", [1, 2, 3])
def test_mds_reproduces_worked_example_table(backend: str, epochs: int) -> None:
    mds = ModifiedDawidSkene(fixed_iter=epochs, backend=backend).fit(
        Annotations.from_records(WORKED, classes=CLASSES)
    )
    np.testing.assert_allclose(mds.posteriors_, WORKED_POSTERIORS[epochs], atol=1e-4)
    np.testing.assert_allclose(mds.priors_, WORKED_PRIORS[epochs], atol=1e-4)
    assert mds.n_iter_ == epochs
    assert not mds.converged_


def _naive_first_mds_epoch() -> tuple[list[float], list[list[list[float]]]]:
    """Reference 1.3/1.4 by hand on WORKED: one E-step from P(0.7), one smoothed M-step."""
    k = len(CLASSES)

    def one_coin(a: float) -> list[list[float]]:
        return [[a if t == g else (1 - a) / (k - 1) for g in range(k)] for t in range(k)]

    items = sorted({i for i, _, _ in WORKED})
    workers = sorted({w for _, w, _ in WORKED})
    start = one_coin(0.7)
    post = {}
    for item in items:
        u = [1 / k] * k  # uniform prior at epoch 0
        for i, _, label in WORKED:
            if i == item:
                u = [u[t] * start[t][CLASSES.index(label)] for t in range(k)]
        post[item] = [x / sum(u) for x in u]
    accs, confs = [], []
    for w in workers:
        counts = [[0.0] * k for _ in range(k)]
        for i, ww, label in WORKED:
            if ww == w:
                for t in range(k):
                    counts[t][CLASSES.index(label)] += post[i][t]
        n = sum(map(sum, counts))
        acc = sum(counts[t][t] for t in range(k)) / n
        own, pop = one_coin(acc), one_coin(0.7)
        rows = [
            [counts[t][g] + n * (own[t][g] + pop[t][g] / 2) for g in range(k)] for t in range(k)
        ]
        accs.append(acc)
        confs.append([[x / sum(r) for x in r] for r in rows])
    return accs, confs


def test_mds_worked_example_outputs_and_first_m_step() -> None:
    mds = ModifiedDawidSkene(fixed_iter=3, backend="numpy").fit(WORKED)
    assert mds.labels_.tolist() == ["cat", "dog", "fox", "cat"]
    assert mds.confidence_.round(2).tolist() == [0.97, 0.99, 0.95, 0.99]
    one = ModifiedDawidSkene(fixed_iter=1, backend="numpy").fit(WORKED)
    accs, confs = _naive_first_mds_epoch()
    np.testing.assert_allclose(one.accuracies_, accs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(one.confusions_, confs, rtol=0, atol=1e-12)
    # The hand computation agrees with the numbers printed in reference 1.9 (acc_1 = 0.8709,
    # acc_2 = 0.6481, acc_3 = 0.7150; C_w1[cat] = (0.8357, 0.0720, 0.0923)), which were
    # verified against the notebook code, so neither side is taken from the library's output.
    assert np.round(accs, 4).tolist() == [0.8709, 0.6481, 0.7150]
    np.testing.assert_allclose(confs[0][0], [0.8357, 0.0720, 0.0923], atol=1e-4)
    # Population accuracy used by the M-steps: 0.7, then 0.7447, then 0.7818 (reference 1.9).
    assert np.mean(accs) == pytest.approx(0.7447, abs=1e-4)
    two = ModifiedDawidSkene(fixed_iter=2, backend="numpy").fit(WORKED)
    assert two.accuracies_.mean() == pytest.approx(0.7818, abs=1e-4)


def test_mds_converges_with_correct_stopping_rule() -> None:
    mds = ModifiedDawidSkene(backend="numpy").fit(WORKED)
    assert mds.converged_
    ll = mds.log_likelihoods_
    assert mds.n_iter_ == ll.size < 20
    assert abs(ll[-1] - ll[-2]) <= 1e-8 * abs(ll[-2])
    assert np.all(np.diff(ll) > -1e-9)  # EM never decreases the likelihood here
    np.testing.assert_allclose(mds.confusions_.sum(axis=2), 1.0)


def test_mds_max_confidence_caps_only_confidence() -> None:
    capped = ModifiedDawidSkene(max_confidence=0.95, backend="numpy").fit(WORKED)
    free = ModifiedDawidSkene(backend="numpy").fit(WORKED)
    assert capped.confidence_.max() == 0.95
    np.testing.assert_array_equal(capped.posteriors_, free.posteriors_)
    np.testing.assert_array_equal(capped.labels_, free.labels_)


def test_majority_vote_worked_example_confidences() -> None:
    mv = MajorityVote(seed=0).fit(WORKED)
    assert mv.labels_.tolist() == ["cat", "dog", "fox", "cat"]
    assert mv.confidence_.round(2).tolist() == [0.67, 1.0, 0.67, 1.0]
    assert not mv.ties_.any()
    np.testing.assert_allclose(mv.posteriors_.sum(axis=1), 1.0)


def test_majority_vote_ties_policies() -> None:
    rows = [(0, "a", "x"), (0, "b", "y"), (1, "a", "y"), (1, "b", "y"), (1, "c", "x")]
    first = MajorityVote(tie_break="first").fit(rows)
    assert first.labels_.tolist() == ["x", "y"]
    assert first.ties_.tolist() == [True, False]
    assert first.n_tied_.tolist() == [2, 1]
    every = list(MajorityVote(tie_break="all").fit(rows).results())
    assert every[0] == (0, ("x", "y"), 0.5)
    assert every[1][1] == "y"
    # Random tie-breaking: deterministic under a seed, and both tied classes occur across seeds.
    picks = {MajorityVote(seed=s).fit(rows).labels_[0] for s in range(40)}
    assert picks == {"x", "y"}
    a = MajorityVote(seed=3).fit(rows).labels_
    b = MajorityVote(seed=3).fit(rows).labels_
    np.testing.assert_array_equal(a, b)


def test_majority_vote_random_ties_are_uniform() -> None:
    # 3000 items with a three-way tie: each class should win about a third of them.
    rows = [(i, w, w) for i in range(3000) for w in ("a", "b", "c")]
    labels = MajorityVote(seed=1).fit(rows).labels_
    shares = np.array([np.mean(labels == c) for c in "abc"])
    assert np.all(np.abs(shares - 1 / 3) < 0.04)


def test_weighted_majority_vote() -> None:
    rows = [(0, "expert", "x"), (0, "n1", "y"), (0, "n2", "y")]
    mv = MajorityVote(weights={"expert": 3.0}).fit(rows)
    assert mv.labels_.tolist() == ["x"]
    assert mv.confidence_[0] == pytest.approx(0.6)
    arr = MajorityVote(weights=np.array([0.5, 1.0, 1.0])).fit(rows)
    assert arr.labels_.tolist() == ["y"]
    with pytest.raises(InvalidParameterError, match="weights"):
        MajorityVote(weights={"n1": -1.0}).fit(rows)
    with pytest.raises(InvalidParameterError, match="weights"):
        MajorityVote(weights=np.ones(2)).fit(rows)


def test_results_and_fit_predict_contract() -> None:
    ds = DawidSkene(backend="numpy")
    with pytest.raises(NotFittedError):
        list(ds.results())
    labels = ds.fit_predict(WORKED)
    assert labels.tolist() == ds.labels_.tolist()
    proba = DawidSkene(backend="numpy").fit_predict_proba(WORKED)
    assert proba.shape == (4, 3)
    res = list(ds.results())
    assert [r[0] for r in res] == ["i1", "i2", "i3", "i4"]
    assert all(0 <= r[2] <= 1 for r in res)
    assert ds.fit(WORKED) is ds
    assert "max_iter=5" in repr(DawidSkene(max_iter=5))
    assert DawidSkene().get_params()["smoothing"] == 0.01


@pytest.mark.parametrize(
    ("make", "changes"),
    [
        (lambda: DawidSkene(), {"max_iter": 3, "backend": "numpy"}),
        (lambda: ModifiedDawidSkene(), {"fixed_iter": 2}),
        (lambda: MajorityVote(), {"tie_break": "first"}),
        (lambda: BoxConsolidator(), {"iou_threshold": 0.7, "fusion": "median"}),
        (lambda: MultiLabelConsolidator(), {"output": "threshold", "threshold": 0.6}),
    ],
)
def test_set_params_changes_arguments_and_returns_self(make: Any, changes: dict[str, Any]) -> None:
    est = make()
    assert est.set_params(**changes) is est
    params = est.get_params()
    assert {name: params[name] for name in changes} == changes
    for name, value in changes.items():
        assert f"{name}={value!r}" in repr(est)
    # an unknown name changes nothing, even next to a known one
    before = est.get_params()
    with pytest.raises(InvalidParameterError, match="max_iters"):
        est.set_params(max_iters=5, **changes)
    assert est.get_params() == before


def test_deep_params_reach_the_estimator_inside() -> None:
    est = MultiLabelConsolidator(base=ModifiedDawidSkene(), threshold=0.7)
    shallow, deep = est.get_params(deep=False), est.get_params()
    assert set(shallow) == {"base", "output", "threshold"}
    assert deep["base__initial_accuracy"] == 0.7
    assert set(deep) == set(shallow) | {f"base__{k}" for k in ModifiedDawidSkene().get_params()}
    assert est.set_params(base__initial_accuracy=0.9, output="threshold") is est
    assert est.base.initial_accuracy == 0.9
    assert est.output == "threshold"
    before = est.get_params()
    with pytest.raises(InvalidParameterError, match="base__nope"):
        est.set_params(base__nope=1, output="union")  # nothing changes
    with pytest.raises(InvalidParameterError, match="threshold__x"):
        est.set_params(threshold__x=1)  # a number holds no arguments
    assert est.get_params() == before
    # what sklearn.base.clone does, without needing scikit-learn
    for make in (DawidSkene, MajorityVote, BoxConsolidator, default_estimator, lambda: est):
        original = make()
        copy = type(original)(**original.get_params(deep=False))
        assert repr(copy) == repr(original)


def test_scikit_learn_clone() -> None:
    sklearn_base = pytest.importorskip("sklearn.base")
    est = MultiLabelConsolidator(base=ModifiedDawidSkene(initial_accuracy=0.8))
    twin = sklearn_base.clone(est)
    assert twin is not est
    assert twin.base is not est.base
    assert repr(twin) == repr(est)
    assert repr(sklearn_base.clone(default_estimator())) == repr(default_estimator())


def test_set_params_takes_effect_at_fit() -> None:
    est = DawidSkene(backend="numpy").set_params(max_iter=1)
    assert est.fit(WORKED).n_iter_ == 1
    assert est.set_params(max_iter=100).fit(WORKED).n_iter_ > 1
    with pytest.raises(InvalidParameterError, match="max_iter"):
        est.set_params(max_iter=-1).fit(WORKED)  # values are checked by fit, as in scikit-learn


def test_constructor_only_stores_and_params_are_checked_at_fit() -> None:
    est = DawidSkene(max_iter=-1, tol="x", smoothing=-2)  # type: ignore[arg-type]
    assert est.max_iter == -1
    with pytest.raises(InvalidParameterError, match="max_iter"):
        est.fit(WORKED)
    for bad in (
        ModifiedDawidSkene(initial_accuracy=1.5),
        ModifiedDawidSkene(max_confidence=0.0),
        ModifiedDawidSkene(fixed_iter=0),
        ModifiedDawidSkene(tol=float("nan")),
        DawidSkene(smoothing=-1.0),
        DawidSkene(init="uniform"),
        DawidSkene(init=np.ones((2, 2))),
        DawidSkene(backend="gpu"),
        MajorityVote(tie_break="coin"),
    ):
        with pytest.raises(InvalidParameterError) as err:
            bad.fit(WORKED)
        assert "expected" in str(err.value)


def test_dawid_skene_recovers_worker_quality() -> None:
    rng = np.random.default_rng(0)
    n_items, k = 400, 3
    truth = rng.integers(0, k, n_items)
    rows = []
    for i in range(n_items):
        for w, acc in (("good1", 0.95), ("good2", 0.9), ("good3", 0.9), ("bad", 0.2)):
            lab = truth[i] if rng.random() < acc else (truth[i] + rng.integers(1, k)) % k
            rows.append((i, w, int(lab)))
    ds = DawidSkene(backend="numpy").fit(rows)
    assert np.mean(ds.labels_ == truth) > 0.97
    acc = dict(zip(ds.worker_ids_.tolist(), ds.worker_accuracy().tolist(), strict=True))
    assert acc["good1"] > 0.9
    assert acc["bad"] < 0.3
    assert ds.converged_


def test_dawid_skene_explicit_init() -> None:
    ann = Annotations.from_records(WORKED)
    init = np.full((ann.n_items, ann.n_classes), 1.0)
    init[:, 1] = 5.0
    ds = DawidSkene(init=init, max_iter=1, backend="numpy").fit(ann)
    assert ds.n_iter_ == 1
    np.testing.assert_allclose(ds.posteriors_.sum(axis=1), 1.0)
    # One EM step by hand from the normalised init: smoothed soft counts, then one E-step.
    a, k = 0.01, ann.n_classes
    start = init / init.sum(axis=1, keepdims=True)
    conf = np.full((ann.n_workers, k, k), a)  # (worker, true class, answer)
    for i, w, lab in zip(ann.items, ann.workers, ann.labels, strict=True):
        conf[w, :, lab] += start[i]
    conf /= conf.sum(axis=2, keepdims=True)
    prior = start.sum(axis=0) + a
    prior /= prior.sum()
    want = np.tile(prior, (ann.n_items, 1))
    for i, w, lab in zip(ann.items, ann.workers, ann.labels, strict=True):
        want[i] *= conf[w, :, lab]
    want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ds.confusions_, conf, rtol=1e-12)
    np.testing.assert_allclose(ds.priors_, prior, rtol=1e-12)
    np.testing.assert_allclose(ds.posteriors_, want, rtol=1e-10)
    # ... which is not where the default (majority) start leads after one step.
    majority = DawidSkene(max_iter=1, backend="numpy").fit(ann)
    assert np.abs(majority.posteriors_ - ds.posteriors_).max() > 0.01


def test_resolve_backend() -> None:
    assert resolve_backend("numpy") == "numpy"
    assert resolve_backend("auto") in ("numba", "numpy")
    with pytest.raises(InvalidParameterError, match="backend"):
        resolve_backend("cuda")


def test_one_coin() -> None:
    m = one_coin(np.array([0.7, 1.0]), 4)
    assert m.shape == (2, 4, 4)
    np.testing.assert_allclose(m.sum(axis=2), 1.0)
    assert m[0, 0, 1] == pytest.approx(0.1)
    assert m[1, 2, 2] == 1.0


# ---------------------------------------------------------------------------- annotations
def test_annotations_encoding_and_classes() -> None:
    ann = Annotations.from_records(WORKED, classes=["fox", "dog", "cat"])
    assert ann.classes.tolist() == ["fox", "dog", "cat"]
    assert ann.labels[:3].tolist() == [2, 2, 1]
    assert ann.item_ids.tolist() == ["i1", "i2", "i3", "i4"]
    assert ann.to_records() == WORKED
    # A class nobody answered stays in the model.
    ann2 = Annotations.from_records([(0, "w", "a"), (1, "w", "a")], classes=["a", "b"])
    ds = DawidSkene(backend="numpy").fit(ann2)
    assert ds.posteriors_.shape == (2, 2)


def test_annotations_duplicates_policy() -> None:
    rows = [(0, "w", "a"), (0, "v", "b"), (0, "w", "b")]
    assert Annotations.from_records(rows).n_answers == 2
    assert Annotations.from_records(rows).to_records() == [(0, "v", "b"), (0, "w", "b")]
    assert Annotations.from_records(rows, duplicates="keep").n_answers == 3
    with pytest.raises(AnnotationError, match=r"worker 'w' answered item 0 more than once"):
        Annotations.from_records(rows, duplicates="error")
    with pytest.raises(InvalidParameterError, match="duplicates"):
        Annotations.from_records(rows, duplicates="first")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Annotations.from_records([]), "no answers"),
        (lambda: Annotations.from_arrays([1, 2], ["a"], [0, 1]), "same length"),
        (lambda: Annotations.from_records([(1, "a", "x"), (2, "b", "x")]), "at least 2 classes"),
        (
            lambda: Annotations.from_records([(1, "a", "z")], classes=["x", "y"]),
            "item 1, worker 'a': label 'z' in row 0",
        ),
        (lambda: Annotations.from_records([(1, None, "x"), (2, "b", "y")]), "missing worker"),
        (lambda: Annotations.from_arrays([1.0, np.nan], ["a", "b"], [0, 1]), "missing item"),
        (lambda: Annotations.from_records([(1, "a")]), "row 0 must be"),
        (lambda: Annotations.from_codes([0, 2], [0, 0], [0, 1]), "dense"),
        (lambda: Annotations.from_codes([0, 1], [0, 0], [0, 5], n_classes=2), "out of range"),
        (lambda: DawidSkene().fit("i1,w1,cat"), "string"),
    ],
)
def test_bad_input_raises_clear_errors(call: object, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        call()  # type: ignore[operator]


def test_duplicate_classes_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="distinct"):
        Annotations.from_records([(1, "a", "x")], classes=["x", "x"])


def test_from_csv(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "answers.csv"
    path.write_text("task,worker,label\nq1,w1,2\nq1,w2,10\nq2,w1,2\n")
    ann = Annotations.from_csv(path)
    assert ann.classes.tolist() == [2, 10]  # numeric order, not string order
    bad = Path(str(tmp_path)) / "bad.csv"
    bad.write_text("item,worker,label\nq1,,2\n")
    with pytest.raises(AnnotationError, match=r"bad.csv:2: worker: empty"):
        Annotations.from_csv(bad)
    header = Path(str(tmp_path)) / "header.csv"
    header.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(AnnotationError, match="header"):
        Annotations.from_csv(header)


def test_from_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(WORKED, columns=["task", "worker", "label"])
    ann = Annotations.from_dataframe(df)
    assert ann.n_answers == 11
    assert MajorityVote(tie_break="first").fit(df).labels_.tolist() == ["cat", "dog", "fox", "cat"]
    with pytest.raises(AnnotationError, match="lacks columns"):
        Annotations.from_dataframe(pd.DataFrame({"x": [1]}))


# ---------------------------------------------------------------------------- warm start
@pytest.mark.parametrize("estimator", [DawidSkene, ModifiedDawidSkene])
def test_warm_start_uses_and_extends_state(estimator: type, tmp_path: object) -> None:
    from pathlib import Path

    batch1 = [r for r in WORKED if r[0] in ("i1", "i2")]
    batch2 = [r for r in WORKED if r[0] in ("i3", "i4")] + [("i5", "w9", "dog")]
    # Batch 1 never saw "fox": fixing the classes keeps the state compatible across batches.
    first = estimator(backend="numpy").fit(Annotations.from_records(batch1, classes=CLASSES))
    state = first.worker_state_
    assert sorted(state.worker_ids) == ["w1", "w2", "w3"]
    assert state.n_answers.sum() == len(batch1)
    path = Path(str(tmp_path)) / "state.json"
    state.save(path)
    loaded = WorkerState.load(path)
    np.testing.assert_allclose(loaded.counts, state.counts)
    assert loaded.worker_ids == state.worker_ids
    ann2 = Annotations.from_records(batch2, classes=CLASSES)
    warm = estimator(backend="numpy").fit(ann2, warm_start=loaded)
    cold = estimator(backend="numpy").fit(ann2)
    # The second batch learned from the first: its estimates differ from a cold start.
    assert not np.allclose(warm.posteriors_, cold.posteriors_)
    merged = warm.worker_state_
    assert sorted(merged.worker_ids) == ["w1", "w2", "w3", "w9"]
    assert merged.n_answers.sum() == len(batch1) + len(batch2)
    np.testing.assert_allclose(merged.counts.sum(), len(batch1) + len(batch2))


def test_warm_start_checks_classes_and_type(tmp_path: object) -> None:
    from pathlib import Path

    state = ModifiedDawidSkene(backend="numpy").fit(WORKED).worker_state_
    other = [(0, "w1", "yes"), (0, "w2", "no")]
    with pytest.raises(AnnotationError, match="classes"):
        ModifiedDawidSkene().fit(other, warm_start=state)
    with pytest.raises(InvalidParameterError, match="warm_start"):
        ModifiedDawidSkene().fit(WORKED, warm_start={"w1": 1})  # type: ignore[arg-type]
    bad = Path(str(tmp_path)) / "bad.json"
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(AnnotationError, match="not a worker state"):
        WorkerState.load(bad)
    bad.write_text("{")
    with pytest.raises(AnnotationError, match="not valid JSON"):
        WorkerState.load(bad)


def test_worker_state_merge_and_int_ids_roundtrip(tmp_path: object) -> None:
    from pathlib import Path

    rows = [(i, w, (i + w) % 2) for i in range(6) for w in (7, 8)]
    state = DawidSkene(backend="numpy").fit(rows).worker_state_
    assert state.worker_ids == [7, 8]
    path = Path(str(tmp_path)) / "s.json"
    state.save(path)
    again = WorkerState.load(path)
    assert again.worker_ids == [7, 8]  # ints stay ints
    doubled = again.merge(state)
    np.testing.assert_allclose(doubled.counts, 2 * state.counts)
    np.testing.assert_array_equal(doubled.n_answers, 2 * state.n_answers)
    assert doubled.population_accuracy == pytest.approx(state.population_accuracy)
    acc = state.accuracies()
    assert acc.shape == (2,)
    assert np.all((acc >= 0) & (acc <= 1))


@pytest.mark.parametrize(("k", "m"), [(2, 1), (5, 1), (3, 4)])
def test_serial_and_parallel_builds_and_twin_are_bit_identical(k: int, m: int) -> None:
    # m > 1: S = k * m latent states per item and rectangular (workers, k, S) tables, the layout
    # of Bayesian Dawid-Skene with subtypes.
    from consolidation import simulate
    from consolidation._kernels.em import _accumulate, _m_step, m_step_in_runs

    ann = simulate.classification(3000, 40, k, 4, seed=k).annotations
    items, workers, labels, indptr = ann.sorted_by_item()
    s = k * m
    rng = np.random.default_rng(0)
    log_emit = np.log(rng.dirichlet(np.ones(k), size=(ann.n_workers, s)).transpose(0, 2, 1).copy())
    log_prior = np.log(rng.dirichlet(np.ones(s)))
    post = rng.dirichlet(np.ones(s), size=ann.n_items)
    answers = (items, workers, labels)
    naive = np.zeros((ann.n_workers, k, s))
    for i, w, lab in zip(items.tolist(), workers.tolist(), labels.tolist(), strict=True):
        naive[w, lab] += post[i]
    outs = []
    for backend, parallel in (("numba", True), ("numba", False), ("numpy", None)):
        acc = np.empty((ann.n_items, s))
        top = np.empty(ann.n_items)
        _accumulate.get(backend, parallel=parallel)(
            items, workers, labels, indptr, log_emit, log_prior, acc, top
        )
        counts = np.full((ann.n_workers, k, s), np.nan)
        _m_step.get(backend)(items, workers, labels, post, counts)
        # the large-input M-step: three runs of answers, counted apart, then added
        in_runs = np.full((ann.n_workers, k, s), np.nan)
        m_step_in_runs(backend, *answers, post, in_runs, 3)
        outs.append((acc, top, counts, in_runs))
    np.testing.assert_allclose(outs[0][2], naive, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs[0][3], naive, rtol=1e-12, atol=1e-12)
    for out in outs[1:]:
        for got, want in zip(out, outs[0], strict=True):
            np.testing.assert_array_equal(got, want)


def test_backends_bit_identical_on_inputs_large_enough_for_the_parallel_kernels() -> None:
    # 250k answers: above PARALLEL_MIN_ANSWERS, so numba runs the parallel E-step and the M-step
    # in runs of answers, each into its own table; the numpy twin counts the same runs.
    from consolidation import simulate
    from consolidation._kernels.em import PARALLEL_MIN_ANSWERS, m_step_runs

    ann = simulate.classification(50_000, 400, 4, 5, seed=3).annotations
    assert ann.n_answers >= PARALLEL_MIN_ANSWERS
    assert m_step_runs(ann.n_answers, ann.n_workers * 4 * 4) == 4  # the runs path is taken
    for make in (
        lambda backend: DawidSkene(max_iter=8, backend=backend),
        lambda backend: ModifiedDawidSkene(backend=backend),
    ):
        a, b = make("numba").fit(ann), make("numpy").fit(ann)
        assert a.n_iter_ == b.n_iter_
        np.testing.assert_array_equal(a.posteriors_, b.posteriors_)
        np.testing.assert_array_equal(a.confusions_, b.confusions_)


def test_m_step_runs_depend_on_the_input_shape_only() -> None:
    from consolidation._kernels.em import PARALLEL_MIN_ANSWERS, m_step_runs

    n = PARALLEL_MIN_ANSWERS
    assert m_step_runs(n - 1, 10) == 1  # small inputs: serial
    assert m_step_runs(n, n // 4) == 4  # four tables no bigger than the answers
    assert m_step_runs(n, n // 4 + 1) == 2  # one table no bigger than the answers
    assert m_step_runs(n, n) == 2
    assert m_step_runs(n, n + 1) == 1  # a table bigger than the answers: serial


@pytest.mark.parametrize("block_bytes", [8, 8 * 7, 8 * 45, 1 << 19])
@pytest.mark.parametrize(("n", "s", "size"), [(1, 1, 1), (10, 2, 2), (1001, 15, 3), (257, 6, 1)])
def test_row_blocked_passes_equal_whole_array_ones(
    monkeypatch: pytest.MonkeyPatch, block_bytes: int, n: int, s: int, size: int
) -> None:
    # normalise, normalise_tracked and group_sums run block by block of rows; whatever the block
    # (one row, a few rows not dividing n, the whole array), the results are those of plain
    # passes over the whole arrays, bit for bit, with columns added left to right.
    from consolidation._kernels import em

    monkeypatch.setattr(em, "_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(n + s)
    logs = -30 * rng.random((n, s))
    logs[rng.random((n, s)) < 0.2] = -np.inf  # flushed terms
    logs[np.arange(n), rng.integers(0, s, n)] = 0.0  # the row maximum, shifted to 0
    top = rng.normal(size=n)
    want = np.exp(logs)
    sums = want[:, 0].copy()
    for j in range(1, s):
        sums += want[:, j]
    want /= sums[:, None]
    want_ll = float((np.log(sums) + top).sum())
    previous = rng.random((n, s))
    for backend in ("numpy", "numba"):
        post = logs.copy()
        assert em.normalise(post, top, backend) == want_ll
        np.testing.assert_array_equal(post, want)
        post, totals = logs.copy(), np.full(s, np.nan)
        ll, moved = em.normalise_tracked(post, top, backend, previous, totals)
        assert ll == want_ll
        np.testing.assert_array_equal(post, want)
        np.testing.assert_array_equal(totals, want.sum(axis=0))  # rows added in order
        assert moved == float(np.abs(want - previous).max())

    a = rng.random((n, s))
    out = np.full((n, s // size), np.nan)
    runs = a.reshape(n, -1, size)
    naive = runs[:, :, 0].copy()
    for j in range(1, size):
        naive += runs[:, :, j]
    np.testing.assert_array_equal(em.group_sums(a, size, out), naive)


def test_majority_vote_weights_only_count_by_their_ratios() -> None:
    rows = [("i", "w1", "a"), ("i", "w2", "b"), ("i", "w3", "b"), ("j", "w1", "a")]
    small = MajorityVote(weights={"w1": 2.0, "w2": 0.5, "w3": 0.5}).fit(rows)
    huge = MajorityVote(weights={"w1": 1.6e308, "w2": 4e307, "w3": 4e307}).fit(rows)  # sum: inf
    np.testing.assert_allclose(huge.posteriors_, small.posteriors_)  # no overflow, no NaN
    np.testing.assert_allclose(small.posteriors_[0], [2 / 3, 1 / 3])
    assert small.votes_.max() == 1.0  # scaled to the largest weight
    with pytest.raises(InvalidParameterError, match="'weights'"):
        MajorityVote(weights={"w1": "x"}).fit(rows)
    for seed in ("x", -1):
        with pytest.raises(InvalidParameterError, match="'seed'"):
            MajorityVote(seed=seed).fit(rows)  # type: ignore[arg-type]


def test_majority_vote_results_follow_the_fit_not_later_params() -> None:
    mv = MajorityVote(seed=0).fit([("i", "w1", "a"), ("i", "w2", "b")])
    before = list(mv.results())
    mv.set_params(tie_break="all")
    assert list(mv.results()) == before  # until the next fit
    assert next(mv.fit([("i", "w1", "a"), ("i", "w2", "b")]).results())[1] == ("a", "b")


def test_an_empty_worker_state_changes_nothing() -> None:
    from consolidation.simulate import classification

    ann = classification(50, 5, 3, 2, seed=0).annotations
    empty = WorkerState.empty(ann.classes.tolist())
    for est in (ModifiedDawidSkene(initial_accuracy=0.9), DawidSkene()):
        cold = type(est)(**est.get_params()).fit(ann).posteriors_
        warm = type(est)(**est.get_params()).fit(ann, warm_start=empty).posteriors_
        np.testing.assert_array_equal(warm, cold)
