"""BoxConsolidator and BoxAnnotations: reference 2.5, properties, order independence, errors."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

import consolidation
from consolidation import (
    AnnotationError,
    BoxAnnotations,
    BoxConsolidator,
    InvalidParameterError,
    NotFittedError,
)
from consolidation._kernels import numba_available
from consolidation._kernels.iou import IOU_SLACK
from consolidation._simulate_boxes import boxes as simulate_boxes

from .conftest import dataset_path

BACKENDS = [
    "numpy",
    pytest.param("numba", marks=pytest.mark.skipif(not numba_available(), reason="no numba")),
]

# Reference 2.5 worked example: w1 draws A and B, w2 draws C, w3 draws D and E.
WORKED = [
    ("img", "w1", "bird", 10, 10, 40, 40),
    ("img", "w1", "bird", 60, 60, 20, 20),
    ("img", "w2", "bird", 12, 8, 40, 44),
    ("img", "w3", "bird", 8, 12, 44, 40),
    ("img", "w3", "bird", 70, 5, 10, 10),
]


# ----------------------------------------------------------------------------- naive reference
def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return min(inter / union, 1.0) if union > 0 else 0.0


def _fuse(members: list[tuple[float, ...]], fusion: str) -> tuple[float, ...]:
    if fusion == "median":
        out = []
        for d in range(4):
            v = sorted(m[d] for m in members)
            k = len(v)
            out.append((v[(k - 1) // 2] + v[k // 2]) * 0.5)
        return tuple(out)
    sums = list(members[0])
    for m in members[1:]:
        sums = [s + x for s, x in zip(sums, m, strict=True)]
    return tuple(s / len(members) for s in sums)


def _clip(box: tuple[float, ...], size: tuple[float, float] | None) -> tuple[float, ...]:
    if size is None:
        return box
    out = list(box)
    for lo, ext, limit in ((0, 2, size[0]), (1, 3, size[1])):
        start, end = box[lo], box[lo] + box[ext]
        new_start, new_end = min(max(start, 0.0), limit), min(max(end, 0.0), limit)
        out[lo] = new_start
        if new_start != start or new_end != end:
            out[ext] = new_end - new_start
    return tuple(out)


def naive_consolidate(
    rows: list[tuple[Any, ...]],
    answered: list[tuple[Any, Any]] = (),  # type: ignore[assignment]
    image_sizes: dict[Any, tuple[float, float]] | None = None,
    tau: float = 0.5,
    fusion: str = "mean",
) -> dict[Any, list[tuple[Any, ...]]]:
    """Reference 2.5 in plain Python: Hungarian (scipy) at every step, no shortcut."""
    image_sizes = image_sizes or {}
    workers_of: dict[Any, set[Any]] = defaultdict(set)
    boxes_of: dict[tuple[Any, Any], list[tuple[Any, int, tuple[float, ...]]]] = defaultdict(list)
    for r, (item, worker, label, *box) in enumerate(rows):
        workers_of[item].add(worker)
        boxes_of[item, label].append((worker, r, tuple(float(v) for v in box)))
    for item, worker in answered:
        workers_of[item].add(worker)
    out: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
    for (item, label), boxes in boxes_of.items():
        clusters: list[list[tuple[Any, int, tuple[float, ...]]]] = []
        fused: list[tuple[float, ...]] = []
        for worker in sorted({w for w, _, _ in boxes}):
            mine = sorted((b for b in boxes if b[0] == worker), key=lambda b: (b[2], b[1]))
            target = [-1] * len(mine)
            if clusters:
                m = np.array([[_iou(b[2], f) for f in fused] for b in mine])
                ok = m >= tau * (1.0 - IOU_SLACK)
                rr, cc = linear_sum_assignment(np.where(ok, m, 0.0), maximize=True)
                for i, c in zip(rr, cc, strict=True):
                    if ok[i, c]:
                        target[i] = int(c)
            for b, c in zip(mine, target, strict=True):
                if c < 0:
                    clusters.append([b])
                else:
                    clusters[c].append(b)
            fused = [_fuse([b[2] for b in cl], fusion) for cl in clusters]
        n_workers = len(workers_of[item])
        for cl, f in zip(clusters, fused, strict=True):
            # Matching used the raw boxes; scoring clips the fused box and, as the fused box is,
            # every member (BoxConsolidator, step 4).
            box = _clip(f, image_sizes.get(item))
            total = 0.0
            for b in cl:
                total += _iou(_clip(b[2], image_sizes.get(item)), box)
            conf = total / n_workers if n_workers > 1 else 0.0
            members = tuple((w, r) for w, r, _ in cl)
            out[item].append((label, *box, conf, len(cl), members))
    return out


def _by_item(model: BoxConsolidator) -> dict[Any, list[tuple[Any, ...]]]:
    out: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
    for k, row in enumerate(model.results()):
        out[row[0]].append((*row[1:], tuple(model.members_[k])))
    return out


def _assert_same(fast: dict[Any, list[Any]], slow: dict[Any, list[Any]]) -> None:
    assert fast.keys() == slow.keys()
    for item in fast:
        a = sorted(fast[item], key=lambda r: r[-1])
        b = sorted(slow[item], key=lambda r: r[-1])
        assert len(a) == len(b), item
        for x, y in zip(a, b, strict=True):
            assert x[0] == y[0]
            assert x[6:] == y[6:]
            assert x[1:6] == pytest.approx(y[1:6], abs=1e-9)


# ------------------------------------------------------------------------------- worked example
@pytest.mark.parametrize("backend", BACKENDS)
def test_reference_worked_example(backend: str) -> None:
    model = BoxConsolidator(backend=backend).fit(WORKED, image_sizes={"img": (100, 100)})
    got = list(model.results())
    assert [r[2:6] for r in got] == [
        (10.0, 10.0, 41.333333333333336, 41.333333333333336),
        (70.0, 5.0, 10.0, 10.0),
        (60.0, 60.0, 20.0, 20.0),
    ]
    assert [round(r[6], 2) for r in got] == [0.90, 0.33, 0.33]
    assert [r[7] for r in got] == [3, 1, 1]
    assert got[0][6] == pytest.approx((0.9365 + 0.8823 + 0.8823) / 3, abs=1e-4)
    assert got[1][6] == got[2][6] == 1 / 3  # stored unrounded
    assert model.members_[0] == [("w1", 0), ("w2", 2), ("w3", 3)]
    assert model.members_[1] == [("w3", 4)]
    assert model.members_[2] == [("w1", 1)]
    assert model.members_.ious[:3] == pytest.approx([0.9365, 0.8823, 0.8823], abs=1e-4)
    assert model.item_ids_.tolist() == ["img"]
    assert model.classes_.tolist() == ["bird"]
    assert model.workers_per_item_.tolist() == [3]
    assert model.boxes_["support"].tolist() == [3, 1, 1]
    _assert_same(_by_item(model), naive_consolidate(WORKED, image_sizes={"img": (100, 100)}))


def test_worked_example_an_empty_answer_lowers_confidence() -> None:
    model = BoxConsolidator().fit(WORKED, answered=[("img", "w4")])
    conf = model.boxes_["confidence"]
    assert conf[1:].tolist() == [0.25, 0.25]
    assert model.workers_per_item_.tolist() == [4]


# ---------------------------------------------------------------------- against the naive version
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("seed", "fusion", "tau", "per_item"),
    [(0, "mean", 0.5, None), (1, "median", 0.5, 4), (2, "mean", 0.3, 3), (3, "median", 0.7, None)],
)
def test_matches_naive_reference_on_simulated_crowds(
    backend: str, seed: int, fusion: str, tau: float, per_item: int | None
) -> None:
    sim = simulate_boxes(
        60, 6, objects_per_item=6, workers_per_item=per_item, jitter=0.08, seed=seed,
        false_positive_rate=0.1, worker_mix={"precise": 2, "sloppy": 2, "confuser": 1, "empty": 1},
    )  # fmt: skip
    ann = sim.annotations
    rows = ann.to_records()
    answered = list(zip(ann.answered_items.tolist(), ann.answered_workers.tolist(), strict=True))
    sizes = {i: tuple(s) for i, s in enumerate(ann.image_sizes.tolist())}
    model = BoxConsolidator(iou_threshold=tau, fusion=fusion, backend=backend).fit(ann)
    _assert_same(_by_item(model), naive_consolidate(rows, answered, sizes, tau, fusion))


@pytest.mark.skipif(not numba_available(), reason="numba is not installed")
@pytest.mark.parametrize("fusion", ["mean", "median"])
def test_whole_consolidator_numba_numpy_parity(fusion: str) -> None:
    sim = simulate_boxes(400, 7, workers_per_item=5, objects_per_item=8, jitter=0.1, seed=11)
    a = BoxConsolidator(fusion=fusion, backend="numba").fit(sim.annotations)
    b = BoxConsolidator(fusion=fusion, backend="numpy").fit(sim.annotations)
    assert np.array_equal(a.boxes_, b.boxes_)
    for name in ("offsets", "rows", "workers", "ious"):
        assert np.array_equal(getattr(a.members_, name), getattr(b.members_, name))
    assert np.array_equal(a.item_offsets_, b.item_offsets_)


thirds = st.integers(0, 36).map(lambda v: v / 3)
float_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(["w1", "w2", "w3", "w4", "w5"]),
        st.sampled_from(["cat", "dog"]),
        thirds,
        thirds,
        st.integers(0, 30).map(lambda v: v / 3),
        st.integers(0, 30).map(lambda v: v / 3),
    ),
    min_size=1,
    max_size=40,
)


@pytest.mark.skipif(not numba_available(), reason="numba is not installed")
@given(float_rows, st.sampled_from(["mean", "median"]), st.sampled_from([0.2, 0.5, 0.8]))
def test_numba_numpy_parity_property(rows: list[tuple[Any, ...]], fusion: str, tau: float) -> None:
    a = BoxConsolidator(fusion=fusion, iou_threshold=tau, backend="numba").fit(rows)
    b = BoxConsolidator(fusion=fusion, iou_threshold=tau, backend="numpy").fit(rows)
    assert np.array_equal(a.boxes_, b.boxes_)
    assert np.array_equal(a.members_.rows, b.members_.rows)
    assert np.array_equal(a.members_.ious, b.members_.ious)


# -------------------------------------------------------------------------- order independence
def _canonical(model: BoxConsolidator, rows_back: np.ndarray | None = None) -> dict[Any, Any]:
    out = {}
    for item, boxes in _by_item(model).items():
        out[item] = [
            (
                *b[:-1],
                tuple((w, int(rows_back[r]) if rows_back is not None else r) for w, r in b[-1]),
            )
            for b in boxes
        ]
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_permuting_rows_workers_and_items_does_not_change_results(seed: int) -> None:
    sim = simulate_boxes(80, 6, workers_per_item=4, objects_per_item=6, jitter=0.1, seed=seed)
    rows = [(f"i{i}", f"w{w}", *rest) for i, w, *rest in sim.annotations.to_records()]
    ann = sim.annotations
    answered = [
        (f"i{i}", f"w{w}") for i, w in zip(ann.answered_items, ann.answered_workers, strict=True)
    ]
    base = BoxConsolidator().fit(rows, answered=answered)
    rng = random.Random(seed)
    perm = list(range(len(rows)))
    rng.shuffle(perm)
    shuffled_answered = answered[:]
    rng.shuffle(shuffled_answered)
    other = BoxConsolidator().fit([rows[p] for p in perm], answered=shuffled_answered)
    # Same boxes, confidences and members (members named by their original row).
    assert _canonical(other, np.array(perm)) == _canonical(base)
    assert set(other.item_ids_.tolist()) == set(base.item_ids_.tolist())
    # Output follows the (new) input order of items.
    first_seen = list(dict.fromkeys(rows[p][0] for p in perm))
    assert other.item_ids_.tolist()[: len(first_seen)] == first_seen


small_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.sampled_from(["w1", "w2", "w3", "w4"]),
        st.sampled_from(["cat", "dog"]),
        st.integers(0, 12),
        st.integers(0, 12),
        st.integers(0, 10),
        st.integers(0, 10),
    ),
    min_size=1,
    max_size=30,
)


@given(small_rows, st.randoms(use_true_random=False), st.sampled_from(["mean", "median"]))
def test_order_independence_property(
    rows: list[tuple[Any, ...]], rnd: random.Random, fusion: str
) -> None:
    base = BoxConsolidator(fusion=fusion, iou_threshold=0.3).fit(rows)
    perm = list(range(len(rows)))
    rnd.shuffle(perm)
    other = BoxConsolidator(fusion=fusion, iou_threshold=0.3).fit([rows[p] for p in perm])
    want = _canonical(base)
    got = _canonical(other, np.array(perm))

    # Identical boxes of one worker are interchangeable: compare members by their boxes.
    def norm(d: dict[Any, Any], table: list[tuple[Any, ...]]) -> dict[Any, Any]:
        return {
            k: sorted((*b[:-1], tuple((w, table[r][2:]) for w, r in b[-1])) for b in v)
            for k, v in d.items()
        }

    assert norm(got, rows) == norm(want, rows)
    _assert_same(_by_item(base), naive_consolidate(rows, tau=0.3, fusion=fusion))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fusion", ["mean", "median"])
def test_matches_naive_reference_with_boxes_across_the_border(backend: str, fusion: str) -> None:
    # Objects near the edges of 60 x 40 images; workers jitter them so that many members and
    # fused boxes cross the border (some lie wholly outside), where member clipping matters.
    rng = np.random.default_rng(7)
    rows: list[tuple[Any, ...]] = []
    sizes = {}
    for item in range(40):
        sizes[item] = (60.0, 40.0)
        for obj in range(3):
            left, top = rng.choice([-8.0, 50.0, 20.0]), rng.choice([-6.0, 32.0, 15.0])
            w, h = rng.uniform(10, 20, size=2)
            for worker in rng.permutation(5)[: rng.integers(2, 6)]:
                jit = rng.normal(0, 2.0, size=4)
                box = (left + jit[0], top + jit[1], max(w + jit[2], 0.5), max(h + jit[3], 0.5))
                rows.append((item, f"w{worker}", f"c{obj % 2}", *box))
    crossing = [r for r in rows if r[3] < 0 or r[4] < 0 or r[3] + r[5] > 60 or r[4] + r[6] > 40]
    assert len(crossing) > len(rows) // 3
    model = BoxConsolidator(fusion=fusion, backend=backend).fit(rows, image_sizes=sizes)
    want = naive_consolidate(rows, image_sizes=sizes, fusion=fusion)
    _assert_same(_by_item(model), want)
    # Clipping the members changes the scores here: the naive rule without it disagrees.
    raw = 0.0
    for item, fused in want.items():
        for _label, *box, conf, _, members in fused:
            raw_sum = sum(_iou(tuple(map(float, rows[r][3:])), tuple(box)) for _, r in members)
            raw = max(raw, abs(conf - raw_sum / len({w for i, w, *_ in rows if i == item})))
    assert raw > 0.05


# ----------------------------------------------------------------------------------- properties
@given(small_rows.map(lambda rs: [("a", "w1", *r[2:]) for r in rs]))
def test_one_worker_gets_its_boxes_back_with_confidence_zero(rows: list[tuple[Any, ...]]) -> None:
    model = BoxConsolidator().fit(rows)
    got = sorted((r[1], *r[2:6]) for r in model.results())
    assert got == sorted((r[2], *map(float, r[3:])) for r in rows)
    assert (model.boxes_["confidence"] == 0.0).all()
    assert (model.boxes_["support"] == 1).all()


@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(1, 30),
                       st.integers(1, 30)), min_size=1, max_size=5, unique=True),
    st.integers(2, 6),
    st.sampled_from(["mean", "median"]),
)  # fmt: skip
def test_identical_boxes_from_every_worker_give_confidence_one(
    boxes: list[tuple[int, ...]], n_workers: int, fusion: str
) -> None:
    rows = [("img", f"w{w}", "car", *b) for w in range(n_workers) for b in boxes]
    model = BoxConsolidator(fusion=fusion).fit(rows)
    got = {tuple(r[2:6]): (r[6], r[7]) for r in model.results()}
    # Distinct boxes of one worker may still be matched to each other's clusters only if they
    # overlap; identical sets always reproduce every box with full support.
    assert set(got) == {tuple(map(float, b)) for b in boxes}
    assert all(conf == 1.0 and support == n_workers for conf, support in got.values())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("tau", [0.5, 1.0])
@pytest.mark.parametrize("box", [(40.5, 65.5, 30.1, 69.4), (0.1, 0.1, 0.7, 0.3)])
def test_identical_fractional_boxes_match_at_every_threshold(
    backend: str, tau: float, box: tuple[float, ...]
) -> None:
    # For these boxes (left + width) - left is not width (rounding), so the IoU of a box with
    # itself, or with the mean of three copies of it, comes out an ulp below 1: at
    # iou_threshold=1 the four identical boxes must still form one cluster.
    rows = [("img", f"w{w}", "car", *box) for w in range(4)]
    model = BoxConsolidator(iou_threshold=tau, backend=backend).fit(rows)
    got = list(model.results())
    assert len(got) == 1
    assert got[0][7] == 4
    assert got[0][2:6] == pytest.approx(box, abs=1e-12)
    assert got[0][6] == pytest.approx(1.0, abs=1e-12)


@given(small_rows, st.floats(0.05, 1.0), st.sampled_from(["mean", "median"]))
def test_invariants(rows: list[tuple[Any, ...]], tau: float, fusion: str) -> None:
    model = BoxConsolidator(iou_threshold=tau, fusion=fusion).fit(rows, answered=[("a", "w9")])
    out = model.boxes_
    for name in ("left", "top", "width", "height", "confidence"):
        assert np.isfinite(out[name]).all()
    assert ((out["confidence"] >= 0) & (out["confidence"] <= 1)).all()
    assert (out["width"] >= 0).all()
    assert (out["height"] >= 0).all()
    labels = model.classes_[out["label"]].tolist()
    total = 0
    for k, label in enumerate(labels):
        members = model.members_[k]
        assert len(members) == out["support"][k]
        assert len({w for w, _ in members}) == len(members)  # one box per worker
        assert all(rows[r][2] == label for _, r in members)  # classes never merge
        assert all(rows[r][0] == model.item_ids_[out["item"][k]] for _, r in members)
        total += len(members)
    assert total == len(rows)  # every box is in exactly one fused box (min_votes=1)
    assert sorted(model.members_.rows.tolist()) == list(range(len(rows)))
    # Results are per item in input order, then by descending confidence, ties by (top, left).
    keys = list(zip(out["item"], -out["confidence"], out["top"], out["left"], strict=True))
    assert keys == sorted(keys)


def test_zero_area_boxes_give_no_nan() -> None:
    rows = [("a", w, "x", 5, 5, 0, 0) for w in ("w1", "w2", "w3")] + [("a", "w1", "x", 1, 1, 0, 7)]
    model = BoxConsolidator().fit(rows, image_sizes={"a": (10, 10)})
    out = model.boxes_
    assert out.size == 4
    assert (out["support"] == 1).all()
    assert (out["confidence"] == 0.0).all()
    assert np.isfinite(out[["left", "top", "width", "height"]].tolist()).all()


def test_different_classes_never_merge() -> None:
    rows = [("a", "w1", "cat", 0, 0, 10, 10), ("a", "w2", "dog", 0, 0, 10, 10)]
    model = BoxConsolidator().fit(rows)
    assert sorted(r[1] for r in model.results()) == ["cat", "dog"]
    assert model.boxes_["confidence"].tolist() == [0.5, 0.5]


def test_min_votes_and_max_confidence() -> None:
    model = BoxConsolidator(min_votes=2, max_confidence=0.8).fit(WORKED)
    got = list(model.results())
    assert len(got) == 1
    assert got[0][7] == 3
    assert got[0][6] == 0.8
    assert model.members_[0] == [("w1", 0), ("w2", 2), ("w3", 3)]
    assert model.item_offsets_.tolist() == [0, 1]


def test_fused_boxes_are_clipped_to_the_image() -> None:
    rows = [("a", "w1", "x", -4, 90, 20, 20), ("a", "w2", "x", -2, 92, 20, 20)]
    model = BoxConsolidator().fit(rows, image_sizes={"a": (100, 100)})
    (_, _, left, top, width, height, conf, support), = model.results()  # fmt: skip
    assert (left, top, width, height) == (0.0, 91.0, 17.0, 9.0)
    assert support == 2
    assert 0 < conf < 1
    unclipped = next(BoxConsolidator().fit(rows).results())
    assert unclipped[2:6] == (-3.0, 91.0, 20.0, 20.0)


def test_items_without_boxes_have_empty_ranges() -> None:
    model = BoxConsolidator().fit(WORKED, answered=[("empty", "w1"), ("empty", "w2")])
    assert model.item_ids_.tolist() == ["img", "empty"]
    assert model.item_offsets_.tolist() == [0, 3, 3]
    only_answers = BoxConsolidator().fit([], answered=[("x", "w1")])
    assert list(only_answers.results()) == []
    assert len(only_answers.members_) == 0


def test_fit_accepts_annotations_rows_and_dataframes() -> None:
    ann = BoxAnnotations.from_records(WORKED)
    a = list(BoxConsolidator().fit(ann).results())
    assert a == list(BoxConsolidator().fit(WORKED).results())
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(WORKED, columns=["task", "worker", "label", "left", "top", "width", "height"])
    assert list(BoxConsolidator().fit(df).results()) == a
    with pytest.raises(InvalidParameterError, match="image_sizes"):
        BoxConsolidator().fit(ann, image_sizes={"img": (1, 1)})


# ------------------------------------------------------------------------ estimator contract
def test_parameters_are_stored_and_checked_at_fit() -> None:
    model = BoxConsolidator(iou_threshold=2.0)  # stored, not checked
    assert model.get_params()["iou_threshold"] == 2.0
    assert repr(BoxConsolidator(fusion="median")) == "BoxConsolidator(fusion='median')"
    bad = [
        ("iou_threshold", 0.0), ("iou_threshold", 1.5), ("iou_threshold", float("nan")),
        ("iou_threshold", True), ("min_votes", 0), ("min_votes", 1.5), ("fusion", "max"),
        ("max_confidence", 1.2), ("max_confidence", "high"), ("backend", "gpu"),
    ]  # fmt: skip
    for name, value in bad:
        with pytest.raises(InvalidParameterError, match=name):
            BoxConsolidator(**{name: value}).fit(WORKED)


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        next(BoxConsolidator().results())
    assert not hasattr(BoxConsolidator(), "boxes_")


def test_public_names() -> None:
    assert consolidation.BoxConsolidator is BoxConsolidator
    assert {"BoxAnnotations", "BoxConsolidator"} <= set(consolidation.__all__)


# ---------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            ("img7", "w3", "bird", 1, 2, -2.0, 3),
            r"item 'img7', worker 'w3': width -2\.0 is negative",
        ),
        (
            ("img7", "w3", "bird", 1, 2, 3, -1),
            r"item 'img7', worker 'w3': height -1\.0 is negative",
        ),
        (("img7", "w3", "bird", float("nan"), 2, 3, 4), r"item 'img7', worker 'w3': left is nan"),
        (("img7", "w3", "bird", 1, float("inf"), 3, 4), r"item 'img7', worker 'w3': top is inf"),
        (("img7", "w3", "fish", 1, 2, 3, 4), r"item 'img7', worker 'w3': label 'fish' is not one"),
        (
            ("img7", "w3", "bird", "x", 2, 3, 4),
            r"item 'img7', worker 'w3': left 'x' is not a number",
        ),
        (("img7", "w3", None, 1, 2, 3, 4), r"item 'img7', worker 'w3': missing label"),
        ((None, "w3", "bird", 1, 2, 3, 4), r"missing item id"),
        (("img7", "w3", "bird", 1, 2, 3), r"row 1 must be \(item, worker, label"),
    ],
)
def test_bad_input_names_item_and_worker(row: tuple[Any, ...], message: str) -> None:
    rows = [("img1", "w1", "bird", 0, 0, 5, 5), row]
    with pytest.raises(AnnotationError, match=message):
        BoxAnnotations.from_records(rows, classes=["bird"])
    with pytest.raises(AnnotationError, match=message):
        BoxConsolidator().fit(rows, classes=["bird"])


def test_integers_too_large_for_a_float_are_named_not_overflowing() -> None:
    huge = 10**400  # float(huge) raises OverflowError
    rows = [("img1", "w1", "bird", 0, 0, 5, 5), ("img7", "w3", "bird", 1, huge, 3, 4)]
    message = r"item 'img7', worker 'w3': top .* larger than 2\*\*53 in magnitude \(row 1\)"
    with pytest.raises(AnnotationError, match=message):
        BoxAnnotations.from_records(rows)
    with pytest.raises(AnnotationError, match=message):
        BoxConsolidator().fit(rows)
    answer = [{"label": "bird", "left": 1, "top": huge, "width": 3, "height": 4}]
    with pytest.raises(AnnotationError, match=r"item 'img7', worker 'w3': top"):
        BoxAnnotations.from_answers([("img7", "w3", answer, None)])
    with pytest.raises(AnnotationError, match=r"item 'img1': image size .*width.*2\*\*53"):
        BoxAnnotations.from_records(rows[:1], image_sizes={"img1": (huge, 10)})


@pytest.mark.parametrize(
    ("value", "message"),
    [("x", r"left 'x' is not a number \(row 1\)"), (10**400, r"left .* larger than 2\*\*53")],
)
def test_dataframe_coordinates_are_checked_like_rows(value: Any, message: str) -> None:
    pd = pytest.importorskip("pandas")
    columns = ["item", "worker", "label", "left", "top", "width", "height"]
    df = pd.DataFrame([("a", "w1", "c", 0, 0, 10, 10), ("a", "w2", "c", value, 0, 10, 10)])
    df.columns = columns
    with pytest.raises(AnnotationError, match=r"item 'a', worker 'w2': " + message):
        BoxConsolidator().fit(df)


def test_bad_image_sizes_and_empty_input() -> None:
    with pytest.raises(AnnotationError, match="no answers"):
        BoxAnnotations.from_records([])
    with pytest.raises(AnnotationError, match="item 'zzz'"):
        BoxAnnotations.from_records(WORKED, image_sizes={"zzz": (10, 10)})
    with pytest.raises(AnnotationError, match="positive"):
        BoxAnnotations.from_records(WORKED, image_sizes={"img": (0, 10)})
    with pytest.raises(AnnotationError, match="answered"):
        BoxAnnotations.from_records(WORKED, answered=[("img",)])


# ------------------------------------------------------------------------- BoxAnnotations
def test_box_annotations_encoding() -> None:
    rows = [
        ("b", "w9", "dog", 0, 0, 1, 1),
        ("a", "w10", "cat", 0, 0, 1, 1),
        ("b", 3, "cat", 1, 1, 1, 1),
    ]
    ann = BoxAnnotations.from_records(rows, answered=[("c", "w1")], image_sizes={"a": (5, 6)})
    assert ann.item_ids.tolist() == ["b", "a", "c"]  # first appearance
    assert ann.worker_ids.tolist() == [3, "w1", "w10", "w9"]  # by value (type name first)
    assert ann.classes.tolist() == ["cat", "dog"]
    assert ann.workers_per_item.tolist() == [2, 1, 1]
    assert np.isnan(ann.image_sizes[0]).all()
    assert ann.image_sizes[1].tolist() == [5.0, 6.0]
    assert ann.to_records() == [tuple(r[:3]) + tuple(map(float, r[3:])) for r in rows]
    assert "n_boxes=3" in repr(ann)
    assert len(ann) == 3


def test_box_annotations_from_answers() -> None:
    answers = [
        ("img", "w1", [{"label": "bird", "left": 10, "top": 10, "width": 40, "height": 40},
                       {"label": "bird", "left": 60, "top": 60, "width": 20, "height": 20}],
         {"height": 100, "width": 100}),
        ("img", "w2", [("bird", 12, 8, 40, 44)], None),
        ("img", "w3", [{"label": "bird", "left": 8, "top": 12, "width": 44, "height": 40},
                       {"label": "bird", "left": 70, "top": 5, "width": 10, "height": 10}],
         {"height": 100, "width": 100}),
        ("img", "w4", None, {"height": 100, "width": 100}),
    ]  # fmt: skip
    ann = BoxAnnotations.from_answers(answers)
    assert ann.n_boxes == 5
    assert ann.workers_per_item.tolist() == [4]
    assert ann.image_sizes.tolist() == [[100.0, 100.0]]
    with pytest.raises(AnnotationError, match="item 'img', worker 'w2': image size"):
        BoxAnnotations.from_answers([answers[0], ("img", "w2", None, (50, 50))])
    with pytest.raises(AnnotationError, match=r"item 'img', worker 'w1'.*lacks \['height'\]"):
        BoxAnnotations.from_answers(
            [("img", "w1", [{"label": "b", "left": 1, "top": 1, "width": 1}], None)]
        )


# ------------------------------------------------------------------------------------ real data
def test_real_service_output_as_a_single_worker_is_returned_unchanged() -> None:
    path = dataset_path("groundtruth", "od-birds-yolov5", "output.manifest")
    rows, sizes = [], {}
    with open(path) as fh:
        for n, line in enumerate(fh):
            record = json.loads(line)["category"]
            size = record["image_size"][0]
            sizes[n] = (size["width"], size["height"])
            for a in record["annotations"]:
                rows.append(
                    (n, "service", a["class_id"], a["left"], a["top"], a["width"], a["height"])
                )
    model = BoxConsolidator().fit(rows, image_sizes=sizes)
    assert len(rows) == 192
    assert model.boxes_.size == 192
    got = sorted((r[0], *r[2:6]) for r in model.results())
    assert got == sorted((r[0], *map(float, r[3:])) for r in rows)  # inside the image: no clipping
    assert (model.boxes_["confidence"] == 0.0).all()


def test_from_answers_a_repeated_answer_replaces_the_earlier_one() -> None:
    # A worker answering an image twice is one worker with one answer (the last, as for
    # classification and multi-label answers), not one worker with every box drawn twice.
    owl = {"label": "owl", "left": 1, "top": 2, "width": 30, "height": 40}
    gull = {"label": "gull", "left": 50, "top": 50, "width": 10, "height": 10}
    answers = [
        ("img", "w1", [owl, gull], None),
        ("img", "w2", [owl], None),
        ("img", "w1", [owl], (100, 100)),
    ]
    ann = BoxAnnotations.from_answers(answers)
    assert ann.to_records() == [
        ("img", "w2", "owl", 1.0, 2.0, 30.0, 40.0),
        ("img", "w1", "owl", 1.0, 2.0, 30.0, 40.0),
    ]
    assert ann.workers_per_item.tolist() == [2]
    assert ann.image_sizes.tolist() == [[100.0, 100.0]]
    (box,) = BoxConsolidator().fit(ann).results()
    assert box[1:] == ("owl", 1.0, 2.0, 30.0, 40.0, 1.0, 2)
    kept = BoxAnnotations.from_answers(answers, duplicates="keep")
    assert kept.n_boxes == 4
    with pytest.raises(AnnotationError, match=r"item 'img', worker 'w1': .*answers 0 and 2"):
        BoxAnnotations.from_answers(answers, duplicates="error")
    with pytest.raises(InvalidParameterError, match="duplicates"):
        BoxAnnotations.from_answers(answers, duplicates="first")


def test_from_answers_keeps_items_in_the_order_of_the_answers() -> None:
    # img1 is answered first, by a worker who drew nothing: results still start with img1.
    owl = [{"label": "owl", "left": 1, "top": 1, "width": 5, "height": 5}]
    answers = [
        ("img0", "w1", None, None),
        ("img1", "w1", None, (50, 40)),
        ("img2", "w1", owl, (30, 20)),
        ("img1", "w2", owl, (50, 40)),
    ]
    ann = BoxAnnotations.from_answers(answers)
    assert ann.item_ids.tolist() == ["img0", "img1", "img2"]
    assert np.isnan(ann.image_sizes[0]).all()
    assert ann.image_sizes[1:].tolist() == [[50.0, 40.0], [30.0, 20.0]]
    assert ann.workers_per_item.tolist() == [1, 2, 1]
    assert ann.answered_items.tolist() == [0, 1, 1, 2]
    assert ann.answered_workers.tolist() == [0, 0, 1, 0]
    assert ann.to_records() == [
        ("img2", "w1", "owl", 1.0, 1.0, 5.0, 5.0),
        ("img1", "w2", "owl", 1.0, 1.0, 5.0, 5.0),
    ]
    model = BoxConsolidator().fit(ann)
    assert [(r[0], r[6]) for r in model.results()] == [("img1", 0.5), ("img2", 0.0)]
    assert model.item_offsets_.tolist() == [0, 0, 1, 2]


@pytest.mark.parametrize("size", [None, (10, 10)])
def test_from_answers_refuses_unhashable_ids_by_name(size: Any) -> None:
    with pytest.raises(AnnotationError, match=r"answer 0: item id \['x'\] is a list"):
        BoxAnnotations.from_answers([(["x"], "w1", [], size)])


def test_from_answers_accepts_partial_image_sizes_and_named_tuples() -> None:
    from typing import NamedTuple

    class Box(NamedTuple):
        label: str
        left: float
        top: float
        width: float
        height: float

    ann = BoxAnnotations.from_answers(
        [("i", "w1", (Box("red", 1, 2, 3, 4),), (None, None)), ("i", "w2", (), (640, None))]
    )
    assert ann.to_records() == [("i", "w1", "red", 1.0, 2.0, 3.0, 4.0)]
    assert np.isnan(ann.image_sizes).all()
    assert ann.workers_per_item.tolist() == [2]


def test_ground_truth_payload_through_manifests_responses() -> None:
    responses = pytest.importorskip("manifests.responses")
    path = dataset_path("groundtruth", "gt-recipe-lambda-events")
    answers = []
    for row in responses.read_payload(path / "sample_annotation_consolidation_payload.json"):
        box_answer = row.boxes()
        size = (box_answer.image_width, box_answer.image_height)
        answers.append((row.item, row.worker, box_answer.boxes, size))
    ann = BoxAnnotations.from_answers(answers)
    assert ann.item_ids.tolist() == ["0", "2"]
    assert ann.image_sizes.tolist() == [[640.0, 432.0], [1000.0, 1000.0]]
    model = BoxConsolidator().fit(ann)
    assert [r[:6] for r in model.results()] == [
        ("0", "Green", 418.0, 281.0, 138.0, 141.0),  # equal confidence: by (top, left)
        ("0", "Red", 116.0, 283.0, 137.0, 128.0),
        ("2", "Green", 76.0, 485.0, 182.0, 192.0),
        ("2", "Red", 414.0, 516.0, 205.0, 186.0),
    ]
    assert (model.boxes_["confidence"] == 0.0).all()  # one worker per object


def test_identical_boxes_past_the_border_agree_fully() -> None:
    # Both workers drew the same box, a quarter of which lies outside the 50 x 50 image: the
    # fused box is clipped, and so are the members when their agreement is measured.
    rows = [("img", w, "gull", -5, -5, 20, 20) for w in ("w1", "w2")]
    (box,) = BoxConsolidator().fit(rows, image_sizes={"img": (50, 50)}).results()
    assert box[2:6] == (0.0, 0.0, 15.0, 15.0)
    assert box[6] == 1.0
    same_inside = [("img", "w1", "gull", -5, -5, 20, 20), ("img", "w2", "gull", 0, 0, 15, 15)]
    inside = BoxConsolidator().fit(same_inside, image_sizes={"img": (50, 50)})
    assert next(inside.results())[6] == 1.0  # they differ only outside the image
    other = [("img", "w1", "gull", -5, -5, 20, 20), ("img", "w2", "gull", 0, 0, 14, 15)]
    assert next(BoxConsolidator().fit(other, image_sizes={"img": (50, 50)}).results())[6] < 1.0


@pytest.mark.parametrize("value", ["0", True, None])
def test_box_coordinates_must_be_numbers(value: Any) -> None:
    rows = [("img", "w1", "gull", 1, 1, 10, 10), ("img", "w2", "gull", value, 1, 10, 10)]
    with pytest.raises(AnnotationError, match=r"item 'img', worker 'w2': left .* is not a number"):
        BoxConsolidator().fit(rows)
