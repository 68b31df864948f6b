"""The box simulator, scoring against the truth, and consolidation quality on simulated crowds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consolidation import BoxAnnotations, BoxConsolidator, InvalidParameterError
from consolidation._simulate_boxes import BOX_KINDS, BoxSimulation, boxes, score_boxes


def _score(sim: BoxSimulation, model: BoxConsolidator) -> tuple[float, float, float]:
    out = model.boxes_
    xywh = np.column_stack([out[c] for c in ("left", "top", "width", "height")])
    s = score_boxes(
        out["item"], out["label"], xywh, sim.true_items, sim.true_labels, sim.true_boxes
    )
    return s.mean_iou, s.precision, s.recall


def test_consolidation_beats_single_workers(record_property: pytest.RecordProperty) -> None:
    # 5 workers with jitter, 10 % misses and 5 % false positives (no "empty" workers here).
    sim = boxes(
        400, 5, worker_mix={"precise": 3, "sloppy": 2}, miss_rate=0.1,
        false_positive_rate=0.05, jitter=0.05, seed=7,
    )  # fmt: skip
    ann = sim.annotations
    model = BoxConsolidator().fit(ann)
    mean_iou, precision, recall = _score(sim, model)
    singles = []
    for w in range(ann.n_workers):
        mine = ann.workers == w
        s = score_boxes(
            ann.items[mine], ann.labels[mine], ann.boxes[mine],
            sim.true_items, sim.true_labels, sim.true_boxes,
        )  # fmt: skip
        singles.append(s.mean_iou)
    voted = BoxConsolidator(min_votes=3).fit(ann)
    v_iou, v_precision, v_recall = _score(sim, voted)
    report = (
        f"consolidated mean IoU {mean_iou:.3f} P {precision:.3f} R {recall:.3f}; "
        f"min_votes=3: IoU {v_iou:.3f} P {v_precision:.3f} R {v_recall:.3f}; "
        f"single workers mean IoU {np.round(singles, 3).tolist()}"
    )
    print(report)
    record_property("boxes_quality", report)
    assert mean_iou > max(singles)
    assert mean_iou > np.mean(singles) + 0.05
    assert recall > 0.97
    assert v_precision > 0.95  # voting removes the false positives
    assert v_iou > np.mean(singles)


def test_confidence_ranks_true_boxes_above_false_positives() -> None:
    sim = boxes(200, 5, worker_mix={"precise": 1}, false_positive_rate=0.1, seed=3)
    model = BoxConsolidator().fit(sim.annotations)
    out = model.boxes_
    # Fused boxes with a single member are mostly false positives: they score lower.
    single = out["support"] == 1
    assert out["confidence"][single].mean() < 0.25 < out["confidence"][~single].mean()


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_permuting_workers_and_items_on_a_simulation(backend: str) -> None:
    sim = boxes(300, 8, workers_per_item=5, jitter=0.08, false_positive_rate=0.1, seed=5)
    ann = sim.annotations
    rng = np.random.default_rng(0)
    item_names = np.array([f"img{i}" for i in rng.permutation(ann.n_items)])
    worker_names = np.array([f"w{w}" for w in range(ann.n_workers)])
    perm = rng.permutation(ann.n_boxes)
    a_perm = rng.permutation(ann.answered_items.size)

    def build(order: np.ndarray, a_order: np.ndarray) -> BoxAnnotations:
        return BoxAnnotations.from_arrays(
            item_names[ann.items[order]],
            worker_names[ann.workers[order]],
            ann.labels[order],
            ann.boxes[order],
            answered_items=item_names[ann.answered_items[a_order]],
            answered_workers=worker_names[ann.answered_workers[a_order]],
        )

    base_order = np.arange(ann.n_boxes)
    a = BoxConsolidator(backend=backend).fit(build(base_order, np.arange(a_perm.size)))
    b = BoxConsolidator(backend=backend).fit(build(perm, a_perm))

    def per_item(model: BoxConsolidator, rows: np.ndarray) -> dict[str, list[tuple[object, ...]]]:
        out: dict[str, list[tuple[object, ...]]] = {}
        for k, (item, *rest) in enumerate(model.results()):
            members = tuple((w, int(rows[r])) for w, r in model.members_[k])
            out.setdefault(item, []).append((*rest, members))
        return out

    assert per_item(a, base_order) == per_item(b, perm)
    assert a.item_ids_.tolist() != b.item_ids_.tolist()  # only the item order differs


# ------------------------------------------------------------------------------------ simulator
def test_simulator_is_deterministic_and_realistic() -> None:
    mix = {"precise": 1, "sloppy": 1, "confuser": 1, "empty": 1}
    a = boxes(50, 8, worker_mix=mix, image_size=(320, 200), seed=42)
    b = boxes(50, 8, worker_mix=mix, image_size=(320, 200), seed=42)
    assert np.array_equal(a.annotations.boxes, b.annotations.boxes)
    assert np.array_equal(a.true_boxes, b.true_boxes)
    ann = a.annotations
    assert sorted(a.worker_kinds.tolist()) == sorted(["precise", "sloppy", "confuser", "empty"] * 2)
    xywh = ann.boxes
    assert np.array_equal(xywh, np.round(xywh))  # integer pixels
    assert (xywh[:, :2] >= 0).all()
    assert (xywh[:, 2:] >= 1).all()
    assert (xywh[:, 0] + xywh[:, 2] <= 320).all()
    assert (xywh[:, 1] + xywh[:, 3] <= 200).all()
    empty = np.flatnonzero(a.worker_kinds == "empty")
    assert not np.isin(ann.workers, empty).any()  # they draw nothing ...
    assert np.isin(empty, ann.answered_workers).all()  # ... but they answer
    assert ann.workers_per_item.tolist() == [8] * 50
    assert ann.image_sizes.tolist() == [[320.0, 200.0]] * 50
    assert a.true_offsets[-1] == a.true_items.size
    labels, tb = a.truth(3)
    assert len(labels) == a.true_offsets[4] - a.true_offsets[3]
    assert tb.shape == (len(labels), 4)
    assert (a.worker_confusion_rate[a.worker_kinds == "confuser"] > 0).all()
    assert (a.worker_miss_rate[a.worker_kinds == "empty"] == 1).all()


@given(
    st.integers(1, 20),
    st.integers(1, 6),
    st.integers(1, 4),
    st.dictionaries(st.sampled_from(BOX_KINDS), st.integers(1, 3).map(float), min_size=1),
    st.integers(0, 2**32 - 1),
)
def test_simulator_shapes(
    n_items: int, n_workers: int, k: int, mix: dict[str, float], seed: int
) -> None:
    per_item = min(3, n_workers)
    sim = boxes(
        n_items, n_workers, n_classes=k, workers_per_item=per_item, worker_mix=mix, seed=seed
    )
    ann = sim.annotations
    assert ann.workers_per_item.tolist() == [per_item] * n_items
    assert ann.item_ids.tolist() == list(range(n_items))
    assert ann.labels.size == 0 or ann.labels.max() < k
    model = BoxConsolidator().fit(ann)
    assert np.isfinite(model.boxes_["confidence"]).all()


def test_simulator_rejects_bad_parameters() -> None:
    bad = [
        {"n_items": 0}, {"n_workers": 0}, {"workers_per_item": 9}, {"miss_rate": 1.5},
        {"worker_mix": {"robot": 1.0}}, {"worker_mix": {}}, {"image_size": (4, 4)},
        {"jitter": -1.0}, {"seed": "x"},
    ]  # fmt: skip
    for kwargs in bad:
        args = {"n_items": 5, "n_workers": 3, **kwargs}
        with pytest.raises(InvalidParameterError, match=next(iter(kwargs))):
            boxes(**args)  # type: ignore[arg-type]


def test_score_boxes() -> None:
    sim = boxes(30, 3, seed=1)
    perfect = score_boxes(
        sim.true_items, sim.true_labels, sim.true_boxes,
        sim.true_items, sim.true_labels, sim.true_boxes,
    )  # fmt: skip
    assert (perfect.mean_iou, perfect.precision, perfect.recall) == (1.0, 1.0, 1.0)
    nothing = score_boxes([], [], np.zeros((0, 4)), sim.true_items, sim.true_labels, sim.true_boxes)
    assert (nothing.mean_iou, nothing.precision, nothing.recall) == (0.0, 0.0, 0.0)
    only_first = score_boxes(
        sim.true_items, sim.true_labels, sim.true_boxes,
        sim.true_items, sim.true_labels, sim.true_boxes, items=[0],
    )  # fmt: skip
    assert only_first.n_true == int(sim.true_offsets[1])


def test_reexported_as_simulate_boxes() -> None:
    from consolidation import simulate

    assert simulate.boxes is boxes
    assert simulate.BoxSimulation is BoxSimulation
