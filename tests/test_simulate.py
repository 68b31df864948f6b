"""Tests of the synthetic crowds in consolidation.simulate and of the shared strategies."""

from __future__ import annotations

import doctest
import importlib.util
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consolidation import Annotations, InvalidParameterError, simulate
from consolidation import _sampling as sampling
from consolidation.simulate import KINDS, classification, multilabel

from .strategies import (
    DEGENERATE,
    crowds,
    degenerate_annotations,
    multilabel_crowds,
    perfect_crowds,
    worker_mixes,
)

EVERY_KIND = dict.fromkeys(KINDS, 1.0)


def _rows(items: np.ndarray, workers: np.ndarray, n_items: int) -> np.ndarray:
    """Workers of each item as an (n_items, r) array (answers are grouped by item)."""
    assert np.array_equal(items, np.sort(items))
    return workers.reshape(n_items, -1)


def _assert_distinct_rows(sel: np.ndarray, r: int, n_workers: int) -> None:
    assert sel.shape[1] == r
    assert sel.min() >= 0
    assert sel.max() < n_workers
    assert (np.diff(np.sort(sel, axis=1), axis=1) > 0).all()


def _empirical_confusions(sim: simulate.ClassificationSimulation) -> tuple[np.ndarray, np.ndarray]:
    ann = sim.annotations
    k = ann.n_classes
    flat = (ann.workers.astype(np.int64) * k + sim.truth[ann.items]) * k + ann.labels
    counts = np.bincount(flat, minlength=ann.n_workers * k * k).reshape(ann.n_workers, k, k)
    totals = counts.sum(axis=2, keepdims=True)
    return counts / np.maximum(totals, 1), totals[:, :, 0]


# ---------------------------------------------------------------------------------- classification
def test_shapes_and_dtypes() -> None:
    sim = classification(200, 15, 4, 3, seed=1)
    ann = sim.annotations
    assert ann.n_answers == 600
    assert ann.items.dtype == ann.workers.dtype == ann.labels.dtype == np.int32
    assert ann.item_ids.tolist() == list(range(200))
    assert ann.classes.tolist() == [0, 1, 2, 3]
    assert sim.truth.shape == (200,)
    assert sim.truth.dtype == np.int32
    assert sim.confusions.shape == (ann.n_workers, 4, 4)
    assert sim.confusions.dtype == np.float64
    assert sim.worker_kinds.shape == (ann.n_workers,)
    assert set(sim.worker_kinds.tolist()) <= set(KINDS)
    assert sim.accuracies.shape == (ann.n_workers,)
    assert ann.labels.min() >= 0
    assert ann.labels.max() < 4


def test_items_in_order_each_with_distinct_workers() -> None:
    sim = classification(300, 9, 3, 4, seed=2)
    ann = sim.annotations
    assert np.array_equal(ann.items, np.repeat(np.arange(300), 4))
    _assert_distinct_rows(_rows(ann.items, ann.workers, 300), 4, ann.n_workers)


@pytest.mark.parametrize("heavy_tailed", [False, True])
def test_deterministic_under_seed(heavy_tailed: bool) -> None:
    def run(seed: Any) -> simulate.ClassificationSimulation:
        return classification(
            500, 30, 5, 4, worker_mix=EVERY_KIND, heavy_tailed=heavy_tailed, seed=seed
        )

    a, b, c = run(7), run(7), run(8)
    for x, y in ((a, b),):
        for name in ("items", "workers", "labels", "worker_ids"):
            assert np.array_equal(getattr(x.annotations, name), getattr(y.annotations, name))
        assert np.array_equal(x.truth, y.truth)
        assert np.array_equal(x.confusions, y.confusions)
        assert np.array_equal(x.worker_kinds, y.worker_kinds)
    assert not np.array_equal(a.annotations.labels, c.annotations.labels)
    d = run(np.random.default_rng(7))
    assert np.array_equal(a.annotations.labels, d.annotations.labels)


def test_confusion_rows_are_distributions() -> None:
    sim = classification(100, 300, 7, 2, worker_mix=EVERY_KIND, seed=3)
    assert (sim.confusions >= 0).all()
    np.testing.assert_allclose(sim.confusions.sum(axis=2), 1.0, atol=1e-12)


def test_kind_parameters() -> None:
    k = 5
    sim = classification(50, 700, k, 700, worker_mix=EVERY_KIND, seed=4)
    conf, kinds = sim.confusions, sim.worker_kinds
    diag = np.diagonal(conf, axis1=1, axis2=2)
    assert sim.annotations.n_workers == 700
    assert np.array_equal(np.unique(kinds, return_counts=True)[1], np.full(7, 100))
    np.testing.assert_array_equal(conf[kinds == "perfect"], np.broadcast_to(np.eye(k), (100, k, k)))
    for kind in ("reliable", "sloppy"):
        low, high = simulate._ACCURACY[kind]
        acc = diag[kinds == kind].mean(axis=1)
        jitter = simulate._CLASS_JITTER
        assert (acc >= low - jitter).all(), kind
        assert (acc <= high + jitter).all(), kind
        assert low < acc.mean() < high, kind
        assert (diag[kinds == kind] > 1.0 / k).all(), kind
    np.testing.assert_allclose(conf[kinds == "spammer"], 1.0 / k)
    hammers = conf[kinds == "hammer"]
    assert set(np.unique(hammers).tolist()) == {0.0, 1.0}
    assert (hammers.argmax(axis=2) == hammers[:, :1].argmax(axis=2)).all()
    adversarial = conf[kinds == "adversarial"]
    assert (np.diagonal(adversarial, axis1=1, axis2=2) < 0.5 / k).all()
    targets = adversarial.argmax(axis=2)  # a permutation of the classes without fixed points
    assert (np.sort(targets, axis=1) == np.arange(k)).all()
    assert (targets != np.arange(k)).all()
    confusers = conf[kinds == "confuser"]
    off = confusers * (1 - np.eye(k))
    assert (off.max(axis=(1, 2)) > 0.2).all()  # a confused pair
    assert (np.diagonal(confusers, axis1=1, axis2=2).max(axis=1) > 0.8).all()


def test_empirical_confusions_match_kinds() -> None:
    k = 4
    sim = classification(30_000, 35, k, 5, worker_mix=EVERY_KIND, seed=5)
    ann, kinds = sim.annotations, sim.worker_kinds
    assert ann.n_workers == 35
    emp, totals = _empirical_confusions(sim)
    assert totals.min() > 500
    assert np.abs(emp - sim.confusions).max() < 0.06
    accuracy = (ann.labels == sim.truth[ann.items]).astype(float)
    per_worker = np.bincount(ann.workers, accuracy) / np.bincount(ann.workers)
    assert (per_worker[kinds == "perfect"] == 1.0).all()
    assert (per_worker[kinds == "reliable"] > 0.75).all()
    assert (np.abs(per_worker[kinds == "spammer"] - 1.0 / k) < 0.03).all()
    assert (per_worker[kinds == "adversarial"] < 0.7 / k).all()
    hammers = np.flatnonzero(kinds == "hammer")
    assert hammers.size == 5  # 35 workers, seven kinds: the loop below runs
    for w in hammers:
        assert np.unique(ann.labels[ann.workers == w]).size == 1
    assert (per_worker[kinds == "sloppy"] < per_worker[kinds == "reliable"].min()).all()


def test_answers_align_with_confusions_after_dropping_workers() -> None:
    # 60 workers, 8 answers in all: most workers are dropped and the rest re-coded densely.
    sim = classification(4, 60, 3, 2, worker_mix={"perfect": 1, "hammer": 1}, seed=6)
    ann = sim.annotations
    assert ann.n_workers < 60
    ids = ann.worker_ids
    assert np.array_equal(ids, np.sort(ids))
    assert ids.max() < 60
    assert np.array_equal(np.unique(ann.workers), np.arange(ann.n_workers))
    probs = sim.confusions[ann.workers, sim.truth[ann.items], ann.labels]
    assert (probs == 1.0).all()  # every answer is the only possible one for its worker


def test_class_prior() -> None:
    sim = classification(20_000, 5, 4, 1, class_prior=[7, 2, 1, 0], seed=8)
    freq = np.bincount(sim.truth, minlength=4) / 20_000
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1, 0.0], atol=0.015)


def test_heavy_tailed_activity() -> None:
    def top_share(sim: simulate.ClassificationSimulation) -> float:
        counts = np.sort(np.bincount(sim.annotations.workers))[::-1]
        return float(counts[:100].sum() / counts.sum())

    assert top_share(classification(5_000, 1_000, 3, 3, heavy_tailed=True, seed=9)) > 0.4
    assert top_share(classification(5_000, 1_000, 3, 3, heavy_tailed=False, seed=9)) < 0.2


def test_worker_kind_counts_by_largest_remainder() -> None:
    counts = simulate._kind_counts({"reliable": 1, "spammer": 1}, 3)
    assert counts[KINDS.index("reliable")] == 2
    assert counts[KINDS.index("spammer")] == 1
    assert counts.sum() == 3
    alias = simulate._kind_counts({"hammer-spammer": 1, "class-confuser": 3}, 4)
    assert alias[KINDS.index("hammer")] == 1
    assert alias[KINDS.index("confuser")] == 3


@given(worker_mixes(), st.integers(1, 200))
def test_kind_counts_sum_to_n_workers(mix: dict[str, float], n_workers: int) -> None:
    counts = simulate._kind_counts(mix, n_workers)
    assert counts.sum() == n_workers
    assert (counts >= 0).all()
    total = sum(mix.values())
    for kind, fraction in mix.items():
        assert abs(counts[KINDS.index(kind)] - fraction / total * n_workers) < 1


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_items": 0}, "n_items"),
        ({"n_items": 2.5}, "n_items"),
        ({"n_items": True}, "n_items"),
        ({"n_workers": 0}, "n_workers"),
        ({"n_classes": 1}, "n_classes"),
        ({"answers_per_item": 0}, "answers_per_item"),
        ({"answers_per_item": 6}, "answers_per_item"),
        ({"worker_mix": {"bogus": 1.0}}, "worker_mix"),
        ({"worker_mix": {"reliable": -1.0, "spammer": 2.0}}, "worker_mix"),
        ({"worker_mix": {"reliable": 0.0}}, "worker_mix"),
        ({"worker_mix": {"reliable": float("nan")}}, "worker_mix"),
        ({"worker_mix": {}}, "worker_mix"),
        ({"class_prior": [0.5, 0.5]}, "class_prior"),
        ({"class_prior": [1.0, -0.5, 0.5]}, "class_prior"),
        ({"class_prior": [0.0, 0.0, 0.0]}, "class_prior"),
        ({"seed": "abc"}, "seed"),
    ],
)
def test_classification_bad_parameters(kwargs: dict[str, Any], name: str) -> None:
    args: dict[str, Any] = {"n_items": 10, "n_workers": 5, "n_classes": 3, "answers_per_item": 2}
    args.update(kwargs)
    with pytest.raises(InvalidParameterError) as info:
        classification(**args)
    assert info.value.name == name
    assert name in str(info.value)


# ---------------------------------------------------------------------------------- worker sampling
@pytest.mark.parametrize("heavy_tailed", [False, True])
@pytest.mark.parametrize(("n_workers", "r"), [(50, 5), (12, 7), (300, 1), (40, 40)])
def test_every_sampling_path_gives_distinct_workers(
    monkeypatch: pytest.MonkeyPatch, heavy_tailed: bool, n_workers: int, r: int
) -> None:
    # Force the large-problem paths on small inputs.
    monkeypatch.setattr(sampling, "_DENSE_LIMIT", 64)
    sim = classification(400, n_workers, 3, r, heavy_tailed=heavy_tailed, seed=10)
    ann = sim.annotations
    sel = ann.worker_ids[_rows(ann.items, ann.workers, 400)]
    _assert_distinct_rows(sel, r, n_workers)


@pytest.mark.parametrize("method", ["dense", "floyd"])
def test_uniform_choice_is_uniform(method: str) -> None:
    rng = np.random.default_rng(12)
    n_items, n_workers, r = 20_000, 10, 4
    if method == "dense":
        sel = sampling._dense_choice(rng, n_items, n_workers, r, None)
    else:
        sel = sampling._floyd_choice(rng, n_items, n_workers, r)
    _assert_distinct_rows(sel, r, n_workers)
    freq = np.bincount(sel.ravel(), minlength=n_workers) / n_items
    np.testing.assert_allclose(freq, r / n_workers, atol=0.02)
    smallest = np.bincount(np.sort(sel, axis=1)[:, 0], minlength=n_workers)
    assert smallest[: n_workers - r + 1].min() > 0  # every possible smallest member occurs
    assert smallest[n_workers - r + 1 :].sum() == 0


@pytest.mark.parametrize("method", ["dense", "rounds", "rounds+dense"])
def test_weighted_choice_matches_sequential_sampling(method: str) -> None:
    rng = np.random.default_rng(13)
    n_items, n_workers = 40_000, 6
    activity = sampling.Activity(rng, n_workers)
    w = activity.weights
    np.testing.assert_allclose(w.sum(), 1.0)
    if method == "dense":
        sel = sampling._dense_choice(rng, n_items, n_workers, 2, w)
    else:
        sel = sampling._rounds_choice(
            rng, n_items, 2, activity, max_rounds=1 if "+" in method else 64
        )
    _assert_distinct_rows(sel, 2, n_workers)
    # Exact inclusion probability of worker i in a sequential weighted sample of size 2.
    exact = w + np.array(
        [
            sum(w[j] * w[i] / (1 - w[j]) for j in range(n_workers) if j != i)
            for i in range(n_workers)
        ]
    )
    freq = np.bincount(sel.ravel(), minlength=n_workers) / n_items
    np.testing.assert_allclose(freq, exact, atol=0.015)


def test_activity_draws_follow_weights() -> None:
    rng = np.random.default_rng(14)
    activity = sampling.Activity(rng, 7)
    draws = activity.draw(rng, (200_000,))
    freq = np.bincount(draws, minlength=7) / draws.size
    np.testing.assert_allclose(freq, activity.weights, atol=0.005)


# ---------------------------------------------------------------------------------- multilabel
def test_multilabel_shapes_and_truth() -> None:
    sim = multilabel(300, 12, 5, 4, seed=20)
    assert sim.items.dtype == sim.workers.dtype == np.int32
    assert sim.votes.shape == (1200, 5)
    assert sim.votes.dtype == bool
    assert sim.truth.shape == (300, 5)
    assert sim.truth.dtype == bool
    assert sim.truth.any(axis=1).all()
    assert sim.sensitivity.shape == sim.specificity.shape == (12, 5)
    assert sim.is_spammer.sum() == 1
    assert np.array_equal(sim.items, np.repeat(np.arange(300), 4))
    _assert_distinct_rows(_rows(sim.items, sim.workers, 300), 4, 12)


@pytest.mark.parametrize("n_classes", [3, 20])
def test_multilabel_rows(n_classes: int) -> None:
    sim = multilabel(200, 6, n_classes, 3, label_density=0.1, seed=21)
    rows = sim.rows
    assert len(rows) == sim.n_answers == 600
    assert rows is sim.rows  # cached
    for a, (item, worker, labels) in enumerate(rows):
        assert (item, worker) == (int(sim.items[a]), int(sim.workers[a]))
        assert isinstance(labels, frozenset)
        assert labels == frozenset(np.flatnonzero(sim.votes[a]).tolist())
    assert frozenset() in {labels for _, _, labels in rows}


def test_multilabel_deterministic() -> None:
    a, b = multilabel(100, 8, 4, 3, seed=22), multilabel(100, 8, 4, 3, seed=22)
    c = multilabel(100, 8, 4, 3, seed=23)
    for name in ("items", "workers", "votes", "truth", "sensitivity", "specificity", "is_spammer"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.votes, c.votes)


def test_multilabel_empirical_sensitivity_specificity() -> None:
    sim = multilabel(24_000, 20, 3, 5, spammer_fraction=0.2, label_density=0.4, seed=24)
    truth = sim.truth[sim.items]
    for w in range(20):
        mine = sim.workers == w
        pos = (sim.votes[mine] & truth[mine]).sum(axis=0) / truth[mine].sum(axis=0)
        neg = (~sim.votes[mine] & ~truth[mine]).sum(axis=0) / (~truth[mine]).sum(axis=0)
        np.testing.assert_allclose(pos, sim.sensitivity[w], atol=0.05)
        np.testing.assert_allclose(neg, sim.specificity[w], atol=0.05)
    assert sim.is_spammer.sum() == 4
    spam = sim.is_spammer
    np.testing.assert_allclose(sim.sensitivity[spam], 1 - sim.specificity[spam])
    assert (sim.sensitivity[spam] == sim.sensitivity[spam][:, :1]).all()
    assert (sim.sensitivity[~spam] >= 0.6).all()
    assert (sim.specificity[~spam] >= 0.85).all()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_classes": 0}, "n_classes"),
        ({"answers_per_item": 9}, "answers_per_item"),
        ({"sensitivity": (0.9, 0.1)}, "sensitivity"),
        ({"sensitivity": 0.5}, "sensitivity"),
        ({"specificity": (0.5, 1.5)}, "specificity"),
        ({"spammer_fraction": 1.5}, "spammer_fraction"),
        ({"spammer_fraction": "x"}, "spammer_fraction"),
        ({"label_density": 0.0}, "label_density"),
        ({"label_density": [0.2, 0.3]}, "label_density"),
        ({"seed": -1}, "seed"),
    ],
)
def test_multilabel_bad_parameters(kwargs: dict[str, Any], name: str) -> None:
    args: dict[str, Any] = {"n_items": 10, "n_workers": 5, "n_classes": 3, "answers_per_item": 2}
    args.update(kwargs)
    with pytest.raises(InvalidParameterError) as info:
        multilabel(**args)
    assert info.value.name == name


# ---------------------------------------------------------------------------------- module
def test_doctests() -> None:
    result = doctest.testmod(simulate, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_boxes_reexported_only_when_available() -> None:
    available = importlib.util.find_spec("consolidation._simulate_boxes") is not None
    assert ("boxes" in simulate.__all__) == available
    assert hasattr(simulate, "boxes") == available


# ---------------------------------------------------------------------------------- strategies
@given(crowds())
def test_crowds_strategy(sim: simulate.ClassificationSimulation) -> None:
    ann = sim.annotations
    assert isinstance(ann, Annotations)
    assert 1 <= ann.n_items <= 40
    assert 2 <= ann.n_classes <= 6
    r = ann.n_answers // ann.n_items
    _assert_distinct_rows(
        sim.annotations.worker_ids[_rows(ann.items, ann.workers, ann.n_items)],
        r,
        int(ann.worker_ids.max()) + 1,
    )
    assert (sim.confusions[ann.workers, sim.truth[ann.items], ann.labels] > 0).all()


@given(perfect_crowds())
def test_perfect_crowds_give_the_truth(sim: simulate.ClassificationSimulation) -> None:
    ann = sim.annotations
    assert np.array_equal(ann.labels, sim.truth[ann.items])
    assert (sim.worker_kinds == "perfect").all()


@given(multilabel_crowds())
def test_multilabel_strategy(sim: simulate.MultiLabelSimulation) -> None:
    assert sim.truth.any(axis=1).all()
    assert sim.votes.shape == (sim.n_answers, sim.truth.shape[1])


@given(degenerate_annotations())
def test_degenerate_annotations(ann: Annotations) -> None:
    assert ann.n_answers >= 1
    assert ann.n_classes >= 2
    assert np.array_equal(np.unique(ann.items), np.arange(ann.n_items))
    assert np.array_equal(np.unique(ann.workers), np.arange(ann.n_workers))


@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_each_degenerate_case(case: str) -> None:
    @given(DEGENERATE[case])
    def check(ann: Annotations) -> None:
        counts = ann.vote_counts()
        if case == "one_answer":
            assert ann.n_answers == ann.n_items == ann.n_workers == 1
        elif case == "unused_class":
            assert (counts.sum(axis=0) == 0).any()
        elif case == "single_answers":
            assert ann.n_answers == ann.n_items == ann.n_workers
        elif case == "one_worker":
            assert ann.n_workers == 1
        elif case == "crowded_item":
            assert ann.n_items == 1
            assert ann.n_workers == ann.n_answers == 500
        elif case == "unanimous":
            assert ((counts > 0).sum(axis=1) == 1).all()
        elif case == "one_class":
            assert np.unique(ann.labels).size == 1

    check()


# ---------------------------------------------------------------------------------- copiers
def test_exact_copiers_repeat_every_answer_of_every_worker() -> None:
    sim = classification(300, 12, 3, 4, seed=5)
    a = sim.annotations
    out = simulate.add_copiers(sim, 2)
    b = out.annotations
    assert b.n_answers == 3 * a.n_answers
    assert b.n_workers == 3 * a.n_workers
    np.testing.assert_array_equal(out.truth, sim.truth)
    for j in (1, 2):  # copy j: the same items and labels, worker w -> w + j * n_workers
        part = slice(j * a.n_answers, (j + 1) * a.n_answers)
        np.testing.assert_array_equal(b.items[part], a.items)
        np.testing.assert_array_equal(b.labels[part], a.labels)
        np.testing.assert_array_equal(b.workers[part], a.workers + j * a.n_workers)
        block = out.confusions[j * a.n_workers : (j + 1) * a.n_workers]
        np.testing.assert_array_equal(block, sim.confusions)
    assert out.worker_kinds.tolist() == sim.worker_kinds.tolist() + ["copier"] * 24
    ids = b.worker_ids.tolist()
    assert len(set(ids)) == len(ids)  # the copiers get new ids; the workers keep theirs
    assert ids[:12] == a.worker_ids.tolist()
    # The same evidence counted three times: the default grows more confident.
    from consolidation import default_estimator

    alone = default_estimator().fit(a)
    tripled = default_estimator().fit(b)
    assert tripled.confidence_.mean() > alone.confidence_.mean()


def test_some_copiers_copy_some_workers_with_the_given_fidelity() -> None:
    sim = classification(4000, 20, 4, 3, seed=2)
    a = sim.annotations
    out = simulate.add_copiers(sim, 1, fraction=0.25, fidelity=0.6, seed=3)
    b = out.annotations
    assert b.n_workers == 25
    assert out.worker_kinds.tolist().count("copier") == 5
    # A copier answers exactly its leader's items (600 each: the item sets tell them apart).
    leaders = []
    for copier in range(20, 25):
        items = set(b.items[b.workers == copier].tolist())
        leaders += [w for w in range(20) if set(a.items[a.workers == w].tolist()) == items]
    assert len(leaders) == 5
    assert leaders == sorted(set(leaders))  # copier i copies the i-th copied worker
    mask = np.isin(a.workers, leaders)
    np.testing.assert_array_equal(b.items[a.n_answers :], a.items[mask])
    same = (b.labels[a.n_answers :] == a.labels[mask]).mean()
    assert abs(same - (0.6 + 0.4 / 4)) < 0.03  # copied, or a random class that happens to match
    np.testing.assert_allclose(out.confusions[20:], 0.6 * sim.confusions[leaders] + 0.4 / 4)
    again = simulate.add_copiers(sim, 1, fraction=0.25, fidelity=0.6, seed=3)
    np.testing.assert_array_equal(again.annotations.labels, b.labels)  # the seed decides


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"copies": 0}, "copies"),
        ({"copies": 1.5}, "copies"),
        ({"fraction": 0.0}, "fraction"),
        ({"fraction": 1.2}, "fraction"),
        ({"fidelity": -0.1}, "fidelity"),
        ({"fidelity": True}, "fidelity"),
        ({"fraction": 0.5, "seed": -1}, "'seed'"),
        ({"fraction": 0.5, "seed": "x"}, "'seed'"),
    ],
)
def test_copiers_reject_bad_parameters_by_name(kwargs: dict[str, Any], name: str) -> None:
    sim = classification(20, 4, 2, 2, seed=0)
    with pytest.raises(InvalidParameterError, match=name):
        simulate.add_copiers(sim, **kwargs)
