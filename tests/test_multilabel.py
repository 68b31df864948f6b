"""Multi-label consolidation on simulated crowds and its input errors."""

from __future__ import annotations

import numpy as np
import pytest

from consolidation import (
    AnnotationError,
    InvalidParameterError,
    MajorityVote,
    ModifiedDawidSkene,
    MultiLabelAnnotations,
    MultiLabelConsolidator,
    NotFittedError,
    default_estimator,
)
from consolidation.simulate import multilabel


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = np.sum(pred & truth)
    return float(2 * tp / (pred.sum() + truth.sum()))


def _per_class_majority(ann: MultiLabelAnnotations) -> np.ndarray:
    votes = np.zeros((ann.n_items, ann.n_classes))
    np.add.at(votes, ann.items, ann.votes)
    return votes / np.bincount(ann.items, minlength=ann.n_items)[:, None] > 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beats_per_class_majority_vote_on_f1(seed: int) -> None:
    sim = multilabel(600, 30, 6, 5, spammer_fraction=0.2, seed=seed)
    ann = MultiLabelAnnotations.from_arrays(sim.items, sim.workers, sim.votes)
    truth = sim.truth[ann.item_ids.astype(int)]
    mv_f1 = _f1(_per_class_majority(ann), truth)
    for base in (ModifiedDawidSkene(), default_estimator()):
        model = MultiLabelConsolidator(base=base, output="threshold").fit(ann)
        assert _f1(model.selected_, truth) > mv_f1, type(base).__name__
    union = MultiLabelConsolidator(output="union").fit(ann)
    # Union output is the set of classes picked by at least one worker (Ground Truth semantics).
    np.testing.assert_array_equal(union.selected_, union.votes_ > 0)
    assert union.confusions_.shape == (ann.n_workers, ann.n_classes, 2, 2)


def test_contract_and_errors() -> None:
    with pytest.raises(NotFittedError):
        list(MultiLabelConsolidator().results())
    rows = [("i", "w1", ["a"]), ("i", "w2", [])]
    for bad, name in (
        (MultiLabelConsolidator(output="all"), "output"),
        (MultiLabelConsolidator(threshold=1.5), "threshold"),
        (MultiLabelConsolidator(base="mds"), "base"),
    ):
        with pytest.raises(InvalidParameterError, match=f"parameter '{name}'"):
            bad.fit(rows)
    with pytest.raises(AnnotationError, match=r"item 'i', worker 'w1'.*'z'"):
        MultiLabelAnnotations.from_records([("i", "w1", ["z"])], classes=["a"])
    with pytest.raises(AnnotationError, match="iterable of class values"):
        MultiLabelAnnotations.from_records([("i", "w1", "a")])
    with pytest.raises(AnnotationError, match="no class was ever picked"):
        MultiLabelAnnotations.from_records([("i", "w1", [])])
    with pytest.raises(AnnotationError, match="0 and 1"):
        MultiLabelAnnotations.from_arrays([1], ["w"], [[2]])
    mv = MultiLabelConsolidator(base=MajorityVote(tie_break="first")).fit(rows)
    assert mv.probabilities_.tolist() == [[0.5]]


def test_a_capped_base_caps_every_reported_confidence() -> None:
    sim = multilabel(200, 8, 4, 5, seed=4)
    ann = MultiLabelAnnotations.from_arrays(sim.items, sim.workers, sim.votes)
    free = MultiLabelConsolidator().fit(ann)
    capped = MultiLabelConsolidator(base=ModifiedDawidSkene(max_confidence=0.95)).fit(ann)
    assert free.confidences_ is free.probabilities_  # no cap: the posteriors themselves
    assert (free.probabilities_ > 0.95).any()  # so the cap has something to do
    np.testing.assert_array_equal(capped.probabilities_, free.probabilities_)
    np.testing.assert_array_equal(capped.confidences_, np.minimum(free.probabilities_, 0.95))
    np.testing.assert_array_equal(capped.selected_, free.selected_)
    reported = [c for _, _, conf in capped.results() for c in conf.values()]
    assert max(reported) == 0.95
    assert min(reported) < 0.95


def test_classes_with_encoded_annotations_are_refused_not_ignored() -> None:
    rows = [("i", "w1", ["a"]), ("i", "w2", ["a", "b"])]
    ann = MultiLabelAnnotations.from_records(rows)
    with pytest.raises(InvalidParameterError, match="classes"):
        MultiLabelConsolidator().fit(ann, classes=["b", "a"])
    reordered = MultiLabelConsolidator().fit(rows, classes=["b", "a"])
    assert reordered.classes_.tolist() == ["b", "a"]
    assert reordered.votes_.tolist() == [[1, 2]]


def test_a_majority_vote_base_gives_confusions_measured_against_its_result() -> None:
    # Per class, the base's posteriors are vote shares; a worker's confusion row t is where
    # their answers fell on the items weighted by the posterior of truth t (hand-counted here).
    rows = [
        ("i1", "w1", ["a"]),
        ("i1", "w2", ["a"]),
        ("i1", "w3", []),
        ("i2", "w1", []),
        ("i2", "w2", ["a"]),
        ("i3", "w3", ["b"]),
    ]
    ml = MultiLabelConsolidator(base=MajorityVote(tie_break="first")).fit(rows)
    conf = ml.confusions_
    assert conf.shape == (3, 2, 2, 2)
    assert np.isfinite(conf).all()
    np.testing.assert_allclose(conf.sum(axis=3), 1.0)
    # class a: P(present) = 2/3 on i1, 1/2 on i2, 0 on i3.  w1 answered present on i1, absent
    # on i2: row absent = (0.5 absent, 1/3 present) / (5/6), row present = (0.5, 2/3) / (7/6).
    np.testing.assert_allclose(conf[0, 0, 0], [0.6, 0.4])
    np.testing.assert_allclose(conf[0, 0, 1], [3 / 7, 4 / 7])
    # w2 picked a on both of its items; w3 never picked it (i1, i3).
    np.testing.assert_allclose(conf[1, 0, :, 1], [1.0, 1.0])
    np.testing.assert_allclose(conf[2, 0, :, 0], [1.0, 1.0])
    # class b: w1 and w2 never saw an item where b is present: that row is uninformative.
    np.testing.assert_allclose(conf[0, 1, 1], [0.5, 0.5])
