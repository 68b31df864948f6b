"""consolidation.quality: calibration, accuracy with ties, worker report, review queue, gains."""

from __future__ import annotations

import builtins
import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from consolidation import (
    Annotations,
    DawidSkene,
    InvalidParameterError,
    MajorityVote,
    ModifiedDawidSkene,
)
from consolidation.bayesian_ds import default_estimator
from consolidation.quality import (
    accuracy,
    calibration,
    copying_pairs,
    drop_copies,
    gold_codes,
    next_answer_gain,
    plot_confusions,
    review_queue,
    spammer_score,
    tie_credit,
    worker_report,
)
from consolidation.simulate import add_copiers, classification

# ------------------------------------------------------------------------------- calibration


def _calibrated(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    post = rng.dirichlet(np.full(k, 0.5), size=n)
    gold = (rng.random((n, 1)) > np.cumsum(post, axis=1)).sum(axis=1)  # gold ~ Cat(post)
    return post, np.minimum(gold, k - 1)


def test_perfectly_calibrated_posteriors_have_ece_near_zero() -> None:
    post, gold = _calibrated(200_000, 3, 0)
    cal = calibration(post, gold)
    assert cal.ece < 0.005
    assert cal.n == 200_000
    assert sum(b.count for b in cal.bins) == cal.n
    for b in cal.bins:
        if b.count > 1000:
            assert b.accuracy == pytest.approx(b.confidence, abs=0.02)


def test_overconfident_posteriors_have_large_ece() -> None:
    post, gold = _calibrated(50_000, 3, 1)
    sharp = post**4
    sharp /= sharp.sum(axis=1, keepdims=True)
    cal = calibration(sharp, gold)
    assert cal.ece > 0.05
    assert cal.ece > 5 * calibration(post, gold).ece
    assert cal.mce >= cal.ece


def test_calibration_bins_and_errors() -> None:
    cal = calibration([[1.0, 0.0], [0.0, 1.0]], [0, 0], n_bins=4)
    assert len(cal.bins) == 4
    assert cal.bins[-1].count == 2  # confidence 1.0 falls in the last bin
    assert cal.ece == pytest.approx(0.5)
    assert cal.brier == pytest.approx(1.0)
    assert calibration([[0.5, 0.5], [0.9, 0.1]], [-1, 0]).n == 1  # unknown gold is skipped
    for post, gold, message in (
        (np.zeros((0, 2)), np.zeros(0, int), "'gold'.*at least one row"),  # rather than NaN
        ([[0.5, 0.5]], [-1], "'gold'.*at least one row"),
        ([[0.5, 0.5]], [0.7], "'gold'.*integer class codes"),  # not a code
        ([[0.5, 0.5]], ["a"], "'gold'.*integer class codes"),
        ([[np.nan, 0.5]], [0], "'posteriors'.*not finite"),  # not a posterior
    ):
        with pytest.raises(InvalidParameterError, match=message):
            calibration(post, gold)
    assert calibration([[0.5, 0.5]], [1.0]).n == 1  # a whole float is a code
    with pytest.raises(InvalidParameterError, match="n_bins"):
        calibration([[1.0, 0.0]], [0], n_bins=0)
    with pytest.raises(InvalidParameterError, match="aligned with gold"):
        calibration([[1.0, 0.0]], [0, 1])


def test_calibration_of_an_estimator_with_gold_mapping() -> None:
    rows = [("a", "w1", "x"), ("a", "w2", "x"), ("b", "w1", "y"), ("b", "w2", "x")]
    mv = MajorityVote(tie_break="first").fit(rows)
    cal = calibration(mv, {"a": "x", "b": "y", "zz": "x"})
    assert cal.n == 2
    assert cal.ece == pytest.approx(0.0)  # a: conf 1, right; b: conf .5, tie credit .5
    # a gold label outside the classes is an error, never read as the last class ("y")
    outside = calibration(mv, {"a": "x", "b": "zzz"})
    assert outside.n == 2
    assert outside.brier == pytest.approx((0.0 + (0.25 + 0.25 + 1.0)) / 2)


# ---------------------------------------------------------------------------------- accuracy


def test_tie_credit_and_accuracy_split_ties() -> None:
    post = np.array([[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.2, 0.8, 0.0]])
    assert tie_credit(post, [0, 2, 0]).tolist() == pytest.approx([0.5, 1 / 3, 0.0])
    assert tie_credit(post, [-1, 0, 1]).tolist() == pytest.approx([0.0, 1 / 3, 1.0])
    with pytest.raises(InvalidParameterError, match="'posteriors'"):
        tie_credit([[np.nan, 0.5]], [0])
    rows = [("a", "w1", "x"), ("a", "w2", "y"), ("b", "w1", "y"), ("b", "w2", "y")]
    mv = MajorityVote(tie_break="first").fit(rows)
    assert mv.n_tied_.tolist() == [2, 1]
    assert accuracy(mv, {"a": "y", "b": "y"}) == pytest.approx(0.75)
    assert accuracy(mv, {"a": "y", "b": "y"}, ties="label") == pytest.approx(0.5)
    assert accuracy(mv, {"a": "nope"}) == 0.0
    assert np.isnan(accuracy(mv, {"zz": "x"}))
    with pytest.raises(InvalidParameterError, match="ties"):
        accuracy(mv, {}, ties="random")
    rows_, codes = gold_codes(mv, {"b": "x", "a": "q"})
    assert rows_.tolist() == [0, 1]
    assert codes.tolist() == [-1, 0]


# ------------------------------------------------------------------------------ worker report

MIX = {"reliable": 0.6, "spammer": 0.2, "hammer": 0.2}


@pytest.fixture(scope="module")
def crowd() -> Any:
    return classification(1500, 30, 3, 5, worker_mix=MIX, seed=4)


def test_spammer_score_definition() -> None:
    assert spammer_score(np.full((3, 3), 1 / 3)).item() == pytest.approx(0.0)
    hammer = np.zeros((3, 3))
    hammer[:, 1] = 1.0
    assert spammer_score(hammer).item() == pytest.approx(0.0)
    assert spammer_score(np.eye(4)).item() == pytest.approx(1.0)
    binary = np.array([[0.8, 0.2], [0.3, 0.7]])  # (alpha + beta - 1)^2 for K = 2
    assert spammer_score(binary).item() == pytest.approx((0.8 + 0.7 - 1) ** 2)
    assert spammer_score(np.stack([np.eye(2), np.full((2, 2), 0.5)])).shape == (2,)


@pytest.mark.parametrize("make", [default_estimator, DawidSkene, ModifiedDawidSkene])
def test_worker_report_flags_spammers_not_reliable_workers(make: Any, crowd: Any) -> None:
    ann = crowd.annotations
    est = make().fit(ann)
    report = worker_report(est, ann)
    assert len(report) == ann.n_workers
    kinds = dict(zip(ann.worker_ids.tolist(), crowd.worker_kinds.tolist(), strict=True))
    for row in report:
        assert row.n_answers >= 5
        if kinds[row.worker_id] == "reliable":
            assert row.flags == (), (row, kinds[row.worker_id])
            assert row.accuracy > 0.7
            assert row.spammer_score > 0.3
        else:
            assert "spammer" in row.flags, (row, kinds[row.worker_id])
        if kinds[row.worker_id] == "hammer":
            assert "hammer" in row.flags
        assert row.confusion is not None
        assert row.confusion.shape == (3, 3)
        assert 0.0 <= row.agreement <= 1.0


def test_worker_report_accuracy_tracks_truth(crowd: Any) -> None:
    ann = crowd.annotations
    est = default_estimator().fit(ann)
    report = worker_report(est)  # the default estimator keeps its annotations
    true_acc = (ann.labels == crowd.truth[ann.items]).astype(float)
    per_worker = np.bincount(ann.workers, weights=true_acc) / np.bincount(ann.workers)
    got = np.array([r.accuracy for r in report])
    assert np.abs(got - per_worker).max() < 0.08


def test_worker_report_for_majority_vote_needs_the_answers(crowd: Any) -> None:
    ann = crowd.annotations
    mv = MajorityVote(seed=0).fit(ann)
    with pytest.raises(InvalidParameterError, match="annotations"):
        worker_report(mv)
    report = worker_report(mv, ann)
    assert all(r.confusion is None for r in report)
    assert all(r.accuracy == r.agreement for r in report)
    kinds = crowd.worker_kinds
    spam = [r.spammer_score for r, k in zip(report, kinds, strict=True) if k != "reliable"]
    good = [r.spammer_score for r, k in zip(report, kinds, strict=True) if k == "reliable"]
    assert max(spam) < min(good)


def test_worker_report_without_answers_uses_worker_state(crowd: Any) -> None:
    ds = DawidSkene().fit(crowd.annotations)
    report = worker_report(ds)
    assert all(np.isnan(r.agreement) for r in report)
    assert [r.n_answers for r in report] == np.bincount(crowd.annotations.workers).tolist()


def test_worker_report_rows_and_csv(crowd: Any, tmp_path: Path) -> None:
    est = default_estimator().fit(crowd.annotations)
    report = worker_report(est)
    rows = report.to_rows()
    assert [r["accuracy"] for r in rows] == sorted(r["accuracy"] for r in rows)
    assert set(rows[0]) == {"worker", "answers", "accuracy", "agreement", "spammer_score", "flags"}
    assert len(report.flagged("spammer")) == sum(k != "reliable" for k in crowd.worker_kinds)
    path = tmp_path / "workers.csv"
    report.to_csv(path)
    with open(path, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == len(report)
    assert "p[0->1]" in table[0]
    assert report[0] is report.rows[0]


def test_worker_report_rejects_other_annotations(crowd: Any) -> None:
    est = DawidSkene().fit(crowd.annotations)
    other = classification(100, 30, 3, 5, seed=1).annotations
    with pytest.raises(ValueError, match=r"fitted on|differ"):
        worker_report(est, other)


# ------------------------------------------------------------------------------- review queue

ROWS = [
    ("a", "w1", "x"), ("a", "w2", "y"),  # tie
    ("b", "w1", "x"), ("b", "w2", "x"), ("b", "w3", "x"),  # sure
    ("c", "w1", "y"), ("c", "w2", "y"), ("c", "w3", "x"),  # 2 of 3
    ("d", "w1", "x"), ("d", "w2", "x"), ("d", "w3", "y"), ("d", "w4", "y"), ("d", "w5", "y"),
]  # fmt: skip


def test_review_queue_orders_by_certainty_and_respects_threshold() -> None:
    mv = MajorityVote(tie_break="first").fit(ROWS)
    queue = review_queue(mv, threshold=0.9, annotations=ROWS)
    assert [r.item_id for r in queue] == ["a", "d", "c"]
    assert [r.reason for r in queue] == ["tie", "low_posterior", "low_posterior"]
    confs = [r.confidence for r in queue]
    assert confs == sorted(confs)
    assert max(confs) < 0.9
    assert queue[0].margin == 0.0
    assert queue[0].n_answers == 2
    assert queue[1].label == "y"
    assert queue[1].runner_up == "x"
    assert review_queue(mv, threshold=0.5) == []
    assert len(review_queue(mv, threshold=None)) == 4


@pytest.mark.parametrize("budget", [0, 1, 2, 10])
def test_review_queue_budget_is_respected(budget: int) -> None:
    sim = classification(300, 15, 3, 3, seed=9)
    est = default_estimator().fit(sim.annotations)
    queue = review_queue(est, threshold=None, budget=budget)
    assert len(queue) == budget
    confs = [r.confidence for r in queue]
    assert confs == sorted(confs)
    if budget:
        assert confs[-1] <= np.sort(est.confidence_)[budget - 1] + 1e-15
    assert {r.reason for r in queue} <= {"tie", "disagreement", "low_posterior"}


def test_review_queue_disagreement_when_the_model_overrules_the_majority() -> None:
    # w1..w3 are reliable on many items; on item "z" the two unreliable workers outvote w1.
    rows = [(f"i{i}", w, i % 2) for i in range(30) for w in ("w1", "w2", "w3")]
    rows += [(f"i{i}", w, 0) for i in range(30) for w in ("s1", "s2")]
    rows += [("z", "w1", 1), ("z", "s1", 0), ("z", "s2", 0)]
    est = default_estimator().fit(rows)
    assert est.labels_[est.item_ids_.tolist().index("z")] == 1
    queue = review_queue(est, threshold=1.0)
    reasons = {r.item_id: r.reason for r in queue}
    assert reasons.get("z") == "disagreement"


def test_review_queue_errors() -> None:
    mv = MajorityVote().fit(ROWS)
    with pytest.raises(InvalidParameterError, match="threshold"):
        review_queue(mv, threshold=1.5)
    with pytest.raises(InvalidParameterError, match="budget"):
        review_queue(mv, budget=-1)


def test_next_answer_gain_ranks_uncertain_items_first() -> None:
    mv = MajorityVote(tie_break="first").fit(ROWS)
    gains = next_answer_gain(mv, ROWS)
    assert gains[0].item_id == "a"  # the tie: one answer decides it
    assert [g.gain for g in gains] == sorted((g.gain for g in gains), reverse=True)
    by_id = {g.item_id: g for g in gains}
    assert by_id["b"].gain == 0.0
    assert by_id["b"].entropy_gain < by_id["a"].entropy_gain
    sim = classification(300, 15, 3, 3, seed=9)
    est = default_estimator().fit(sim.annotations)
    ranked = next_answer_gain(est)
    assert len(ranked) == 300
    assert all(g.gain >= 0 and g.entropy_gain >= 0 for g in ranked)
    with pytest.raises(InvalidParameterError, match="confusion"):
        next_answer_gain(est, confusion=np.eye(2))


def _naive_gains(post: np.ndarray, conf: np.ndarray) -> list[tuple[float, float]]:
    """Per item: (expected fall of 1 - max p, expected fall of entropy) after one more answer.

    Straight from the definition: for every possible answer l, P(l) = sum_t p_t C[t, l] and the
    updated posterior p'_t = p_t C[t, l] / P(l); average the error and entropy after, weighted
    by P(l).
    """
    conf = conf / conf.sum(axis=1, keepdims=True)
    out = []
    for p in post:
        k = len(p)
        err_before = 1.0 - max(p)
        ent_before = -sum(x * np.log(x) for x in p if x > 0)
        err_after = ent_after = 0.0
        for ans in range(k):
            p_ans = sum(p[t] * conf[t, ans] for t in range(k))
            if p_ans == 0:
                continue
            updated = [p[t] * conf[t, ans] / p_ans for t in range(k)]
            err_after += p_ans * (1.0 - max(updated))
            ent_after += p_ans * -sum(x * np.log(x) for x in updated if x > 0)
        out.append((max(err_before - err_after, 0.0), max(ent_before - ent_after, 0.0)))
    return out


class _Fitted:
    """A stand-in fitted estimator with hand-chosen posteriors."""

    def __init__(self, post: np.ndarray) -> None:
        self.posteriors_ = post
        self.confidence_ = post.max(axis=1)
        self.classes_ = np.array(["x", "y", "z"])
        self.label_codes_ = post.argmax(axis=1)
        self.labels_ = self.classes_[self.label_codes_]
        self.item_ids_ = np.array([f"i{j}" for j in range(len(post))])


def test_next_answer_gain_values_match_a_naive_bayes_update() -> None:
    post = np.array(
        [
            [0.5, 0.5, 0.0],  # a two-way tie
            [1.0, 0.0, 0.0],  # certain: no answer can move it
            [0.6, 0.3, 0.1],
            [0.4, 0.35, 0.25],
            [0.2, 0.2, 0.6],
        ]
    )
    # asymmetric and unnormalised rows (the function normalises them)
    conf = np.array([[8.0, 1.0, 1.0], [3.0, 6.0, 1.0], [0.5, 0.5, 1.0]])
    gains = {g.item_id: g for g in next_answer_gain(_Fitted(post), confusion=conf)}
    for j, (gain, ent) in enumerate(_naive_gains(post, conf)):
        assert gains[f"i{j}"].gain == pytest.approx(gain, abs=1e-12)
        assert gains[f"i{j}"].entropy_gain == pytest.approx(ent, abs=1e-12)
    # by hand for the tie: C = [[.8, .1, .1], [.3, .6, .1], ...]; sum_l max_t p_t C[t, l]
    # = max(.4, .15) + max(.05, .3) + max(.05, .05) = .75, minus max p = .5
    assert gains["i0"].gain == pytest.approx(0.25, abs=1e-12)
    assert gains["i1"].gain == 0.0
    assert gains["i1"].entropy_gain == 0.0
    assert gains["i2"].gain > 0.0  # an "y" answer overturns 0.6 vs 0.3 under this confusion


def test_next_answer_gain_uses_the_typical_worker_by_default() -> None:
    # majority vote: a one-coin worker at the mean agreement of the answers with the labels
    mv = MajorityVote(tie_break="first").fit(ROWS)
    agree = np.mean([lab == mv.labels_[list(mv.item_ids_).index(i)] for i, _, lab in ROWS])
    one_coin = np.array([[agree, 1 - agree], [1 - agree, agree]])
    got = {g.item_id: (g.gain, g.entropy_gain) for g in next_answer_gain(mv, ROWS)}
    want = _naive_gains(mv.posteriors_, one_coin)
    for j, item in enumerate(mv.item_ids_):
        assert got[item] == pytest.approx(want[j], abs=1e-12)
    # Dawid-Skene: the confusions averaged with weights = each worker's number of answers
    ds = DawidSkene().fit(ROWS)
    n_ans = np.array([sum(w == wid for _, w, _ in ROWS) for wid in ds.worker_ids_], float)
    mean_conf = np.einsum("w,wij->ij", n_ans / n_ans.sum(), ds.confusions_)
    got = {g.item_id: (g.gain, g.entropy_gain) for g in next_answer_gain(ds)}
    want = _naive_gains(ds.posteriors_, mean_conf)
    for j, item in enumerate(ds.item_ids_):
        assert got[item] == pytest.approx(want[j], abs=1e-12)
    assert got["a"][0] > 0.01  # large enough that an unweighted mean would give a different value


# ---------------------------------------------------------------------------------- plotting


def test_plot_confusions_writes_a_png(crowd: Any, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    est = default_estimator().fit(crowd.annotations)
    path = plot_confusions(est, tmp_path / "conf.png", max_workers=6)
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InvalidParameterError):
        plot_confusions(worker_report(MajorityVote().fit(ROWS), ROWS), tmp_path / "x.png")


def test_plot_confusions_without_matplotlib_says_how_to_install(
    crowd: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    est = DawidSkene().fit(crowd.annotations)
    with pytest.raises(ImportError, match=r"gt-consolidation\[plot\]"):
        plot_confusions(est, tmp_path / "conf.png")


# ---------------------------------------------------------------------------- copying pairs
def _naive_pairs(
    est: Any, ann: Annotations
) -> dict[tuple[int, int], tuple[int, int, float, float]]:
    """Per pair of worker codes: shared items, agreements, expected agreements, variance."""
    by_item: dict[int, list[tuple[int, int]]] = {}
    for i, w, lab in zip(
        ann.items.tolist(), ann.workers.tolist(), ann.labels.tolist(), strict=True
    ):
        by_item.setdefault(i, []).append((w, lab))
    conf, post = est.confusions_, est.posteriors_
    out: dict[tuple[int, int], list[float]] = {}
    for i, pairs in by_item.items():
        for x in range(len(pairs)):
            for y in range(x + 1, len(pairs)):
                (wa, la), (wb, lb) = sorted([pairs[x], pairs[y]])
                p = sum(
                    post[i, t] * sum(conf[wa, t, m] * conf[wb, t, m] for m in range(conf.shape[2]))
                    for t in range(conf.shape[1])
                )
                acc = out.setdefault((wa, wb), [0, 0, 0.0, 0.0])
                acc[0] += 1
                acc[1] += la == lb
                acc[2] += p
                acc[3] += p * (1 - p)
    return {k: (int(v[0]), int(v[1]), v[2], v[3]) for k, v in out.items()}


def test_copying_pairs_match_a_naive_count() -> None:
    sim = add_copiers(classification(150, 8, 3, 4, seed=4), fraction=0.25, fidelity=0.7, seed=2)
    ann = sim.annotations
    ds = DawidSkene(backend="numpy").fit(ann)
    got = copying_pairs(ds, ann, min_shared=1, min_z=-np.inf, min_agreement=0.0)
    naive = _naive_pairs(ds, ann)
    assert len(got) == len(naive)
    zs = [p.z for p in got]
    assert zs == sorted(zs, reverse=True)
    for pair in got:
        shared, agreed, expected, variance = naive[(pair.worker_a, pair.worker_b)]  # ids = codes
        assert pair.shared == shared
        assert pair.agreement == pytest.approx(agreed / shared, abs=1e-12)
        assert pair.expected == pytest.approx(expected / shared, rel=1e-9)
        assert pair.z == pytest.approx((agreed - expected) / np.sqrt(variance), rel=1e-9)


def test_copying_pairs_find_copiers_and_nothing_in_an_independent_crowd() -> None:
    sim = add_copiers(classification(600, 12, 3, 4, seed=0), fraction=0.2, seed=1)
    ann = sim.annotations
    truth = {(5, 12), (6, 13)}  # the copied workers and their copiers (codes = ids here)
    assert sim.worker_kinds[[12, 13]].tolist() == ["copier", "copier"]
    ds = DawidSkene().fit(ann)
    ranked = copying_pairs(ds, ann, min_z=-np.inf, min_agreement=0.0)
    assert {(p.worker_a, p.worker_b) for p in ranked[:2]} == truth  # the two largest z
    for est in (ds, default_estimator().fit(ann)):
        ranked = copying_pairs(est, ann, min_z=-np.inf, min_agreement=0.0)
        assert (ranked[0].worker_a, ranked[0].worker_b) == (5, 12)  # the adversary and its copy
        flagged = {(p.worker_a, p.worker_b) for p in copying_pairs(est, ann)}
        assert flagged
        assert flagged <= truth
    # The worker report flags the workers of the reported pairs, and only them.
    for est in (ds, default_estimator().fit(ann)):
        pairs = copying_pairs(est, ann)
        members = {w for p in pairs for w in (p.worker_a, p.worker_b)}
        report = worker_report(est, ann)
        assert {r.worker_id for r in report.flagged("correlated")} == members
    for seed in range(3):  # independent workers: no pair stands out
        alone = classification(2000, 30, 4, 5, seed=seed).annotations
        fitted = DawidSkene().fit(alone)
        assert copying_pairs(fitted, alone) == []
        assert worker_report(fitted, alone).flagged("correlated") == []


def test_copying_pairs_refuse_what_they_cannot_judge() -> None:
    rows = [(i, w, (i + (w == "c")) % 2) for i in range(20) for w in ("a", "b", "c")]
    for refuses in (copying_pairs, drop_copies):
        with pytest.raises(InvalidParameterError, match="estimator"):
            refuses(MajorityVote().fit(rows), rows)
    ds = DawidSkene(backend="numpy").fit(rows)
    with pytest.raises(InvalidParameterError, match="annotations"):
        copying_pairs(ds)  # DS keeps no annotations
    for bad in ({"min_shared": 0}, {"min_z": float("nan")}, {"min_agreement": 1.5}):
        with pytest.raises(InvalidParameterError, match=next(iter(bad))):
            copying_pairs(ds, rows, **bad)
    pairs = copying_pairs(ds, rows, min_z=-np.inf, min_agreement=0.0)
    assert [(p.worker_a, p.worker_b, p.shared) for p in pairs][:1] == [("a", "b", 20)]
    mixed = [(i, w, (i + (w == ("c", 1))) % 2) for i in range(20) for w in ("a", 2, ("c", 1))]
    est = DawidSkene(backend="numpy").fit(mixed)
    found = copying_pairs(est, mixed, min_z=-np.inf, min_agreement=0.0, min_shared=np.int64(3))
    assert {(p.worker_a, p.worker_b) for p in found} == {("a", 2), ("a", ("c", 1)), (2, ("c", 1))}


def test_drop_copies_gives_back_the_crowd_without_its_copiers() -> None:
    mix = {"sloppy": 0.5, "spammer": 0.5}  # copies of such workers always stand out
    sim = classification(800, 12, 3, 6, worker_mix=mix, seed=6)
    copied = add_copiers(sim, 2, fraction=0.25, seed=2)
    ds = DawidSkene().fit(copied.annotations)
    assert len(copying_pairs(ds, copied.annotations)) == 9  # 3 groups of 3
    fewer = drop_copies(ds, copied.annotations)
    assert sorted(fewer.to_records()) == sorted(sim.annotations.to_records())
    again = DawidSkene().fit(fewer)
    np.testing.assert_array_equal(
        again.label_codes_, DawidSkene().fit(sim.annotations).label_codes_
    )
    # Copies that answer at random 30% of the time are not near-exact: nothing goes.
    loose = add_copiers(sim, 1, fraction=0.25, fidelity=0.7, seed=2)
    fitted = DawidSkene().fit(loose.annotations)
    assert copying_pairs(fitted, loose.annotations)  # they are still found
    assert drop_copies(fitted, loose.annotations).n_answers == loose.annotations.n_answers


def test_drop_copies_keeps_what_a_copier_adds() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 60)
    rows = []
    for i in range(60):
        rows += [
            (i, w, int(rng.integers(0, 3)) if rng.random() < 0.2 else int(truth[i])) for w in "cde"
        ]
        if i < 40:  # a spammer on items 0-39, and b copies it on 0-29
            answer = int(rng.integers(0, 3))
            rows.append((i, "a", answer))
            if i < 30:
                rows.append((i, "b", answer))
        elif i < 50:
            rows.append((i, "b", int(rng.integers(0, 3))))  # b alone on 40-49: not a copy there
    ds = DawidSkene(backend="numpy").fit(rows)
    assert [(p.worker_a, p.worker_b) for p in copying_pairs(ds, rows)] == [("a", "b")]
    kept = drop_copies(ds, rows).to_records()
    # a and b have 40 answers each: a (the first) is kept whole, b keeps what a did not answer.
    assert {i for i, w, _ in kept if w == "a"} == set(range(40))
    assert {i for i, w, _ in kept if w == "b"} == set(range(40, 50))
    assert len(kept) == len(rows) - 30


def test_the_report_leaves_out_correlated_above_its_pair_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from consolidation import _copying

    sim = add_copiers(classification(600, 12, 3, 4, seed=0), fraction=0.2, seed=1)
    ann = sim.annotations
    ds = DawidSkene().fit(ann)
    assert worker_report(ds, ann).flagged("correlated")
    assert _copying.answer_pairs(ann) == sum(r * (r - 1) // 2 for r in np.bincount(ann.items))
    monkeypatch.setattr(_copying, "REPORT_MAX_PAIRS", _copying.answer_pairs(ann) - 1)
    assert worker_report(ds, ann).flagged("correlated") == []  # the report stays cheap
    assert copying_pairs(ds, ann)  # asked for, the pairs are still computed
