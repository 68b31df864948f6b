"""Input handling at the public API's boundary: ids kept as given, clear errors for bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path
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
    MultiLabelAnnotations,
    MultiLabelConsolidator,
    WorkerState,
    simulate,
)

W4 = ["w1", "w2", "w1", "w2"]


# --------------------------------------------------------------------------- ids kept as given
def test_from_arrays_keeps_mixed_type_ids_apart() -> None:
    workers = ["w1", "w1", "w2", "w2"]
    ann = Annotations.from_arrays([1, "1", 1, "1"], workers, ["a", "b", "a", "b"])
    assert ann.item_ids.tolist() == [1, "1"]
    assert ann.items.tolist() == [0, 1, 0, 1]
    # The same ids as rows: from_records and from_arrays agree.
    rows = Annotations.from_records(
        zip([1, "1", 1, "1"], workers, ["a", "b", "a", "b"], strict=True)
    )
    assert rows.to_records() == ann.to_records()


def test_from_arrays_keeps_mixed_type_labels_apart() -> None:
    ann = Annotations.from_arrays([1, 1, 2, 2], W4, [1, "1", 1, 1])
    assert ann.classes.tolist() == [1, "1"]
    assert MajorityVote(tie_break="first").fit(ann).labels_.tolist() == [1, 1]


def test_from_arrays_keeps_int_and_float_ids_as_given() -> None:
    ann = Annotations.from_arrays([1, 2.5], ["w1", "w2"], ["a", "b"])
    assert ann.item_ids.tolist() == [1, 2.5]
    assert type(ann.item_ids.tolist()[0]) is int


def test_mixed_type_classes_are_kept_as_given() -> None:
    ann = Annotations.from_records([("i", "w1", 0), ("i", "w2", "other")], classes=[0, "other"])
    assert ann.classes.tolist() == [0, "other"]
    assert ann.labels.tolist() == [0, 1]


def test_tuple_ids_of_different_lengths_and_tuple_classes() -> None:
    ann = Annotations.from_arrays([(1, 2), (1, 2, 3)], ["w1", "w2"], ["a", "b"])
    assert ann.item_ids.tolist() == [(1, 2), (1, 2, 3)]
    rows = [("i", "w1", (1, 2)), ("i", "w2", (3, 4))]
    ann = Annotations.from_records(rows, classes=[(1, 2), (3, 4)])
    assert ann.classes.tolist() == [(1, 2), (3, 4)]
    assert ann.to_records() == rows


def test_dataframe_keeps_mixed_type_ids_apart() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {"task": [1, "1", 1, "1"], "worker": ["w1", "w1", "w2", "w2"], "label": list("abab")}
    )
    assert DawidSkene().fit(df).item_ids_.tolist() == [1, "1"]


def test_numpy_arrays_keep_their_dtype() -> None:
    ann = Annotations.from_arrays(np.array([3, 1, 3]), np.array(["a", "b", "b"]), [0, 1, 1])
    assert ann.item_ids.dtype.kind == "i"
    assert ann.worker_ids.dtype.kind == "U"
    assert ann.item_ids.tolist() == [3, 1]


@pytest.mark.parametrize(
    "classes", [["a", "b", float("nan")], ["a", "b", None], ["a", np.float64("nan"), "b"]]
)
def test_missing_value_in_classes_is_refused(classes: list[Any]) -> None:
    with pytest.raises(InvalidParameterError, match=r"classes.*missing"):
        Annotations.from_records([("i", "w1", "a"), ("i", "w2", "b")], classes=classes)


@pytest.mark.parametrize("classes", ["ab", 5])
def test_classes_must_be_a_sequence(classes: Any) -> None:
    with pytest.raises(InvalidParameterError, match="'classes'"):
        Annotations.from_records([("i", "w1", "a"), ("i", "w2", "b")], classes=classes)


# --------------------------------------------------------------------------- missing ids
def test_pandas_na_worker_is_missing() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {"task": ["t1", "t1", "t2", "t2"], "worker": W4, "label": ["a", "b", "a", "a"]}
    ).astype("string")
    df.loc[1, "worker"] = pd.NA
    with pytest.raises(AnnotationError, match=r"missing worker id \(<NA>\) in row 1"):
        DawidSkene().fit(df)


def test_pandas_nat_and_numpy_nat_ids_are_missing() -> None:
    pd = pytest.importorskip("pandas")
    with pytest.raises(AnnotationError, match=r"missing item id \(NaT\) in row 1"):
        Annotations.from_records([("i", "w1", "a"), (pd.NaT, "w2", "b")])
    items = np.array(["2024-01-01", "NaT"], dtype="datetime64[D]")
    with pytest.raises(AnnotationError, match=r"missing item id .* in row 1"):
        Annotations.from_arrays(items, ["w1", "w2"], ["a", "b"])


@pytest.mark.parametrize("items", [np.array([1.0, np.inf]), [1.0, -np.inf]])
def test_infinite_id_is_named_as_such(items: Any) -> None:
    with pytest.raises(AnnotationError, match=r"item id -?inf in row 1 is infinite"):
        Annotations.from_arrays(items, ["w1", "w2"], ["a", "b"])


def test_nan_id_is_still_missing() -> None:
    with pytest.raises(AnnotationError, match=r"missing item id \(nan\) in row 1"):
        Annotations.from_arrays(np.array([1.0, np.nan]), ["w1", "w2"], ["a", "b"])


# --------------------------------------------------------------------------- not annotations
@pytest.mark.parametrize(("data", "shown"), [(None, "NoneType None"), (5, "int 5")])
def test_fit_on_something_that_is_not_annotations(data: Any, shown: str) -> None:
    with pytest.raises(AnnotationError, match=f"expected Annotations, .*DataFrame.*got {shown}"):
        DawidSkene().fit(data)


def test_from_arrays_refuses_a_scalar() -> None:
    with pytest.raises(AnnotationError, match="items must be a one-dimensional sequence"):
        Annotations.from_arrays(5, ["w1"], ["a"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- from_codes
@pytest.mark.parametrize("dtype", [np.uint64, np.int64])
def test_from_codes_refuses_codes_beyond_int32(dtype: Any) -> None:
    with pytest.raises(AnnotationError, match="items code 2147483648 is too large"):
        Annotations.from_codes(np.array([0, 2**31], dtype=dtype), [0, 0], [0, 1])
    with pytest.raises(AnnotationError, match="too large"):
        Annotations.from_codes(np.array([0, 2**40], dtype=dtype), [0, 0], [0, 1])


@pytest.mark.parametrize("n_classes", [2.7, "3", True, 1])
def test_from_codes_n_classes_must_be_a_count(n_classes: Any) -> None:
    with pytest.raises(InvalidParameterError, match="'n_classes'"):
        Annotations.from_codes([0, 1], [0, 0], [0, 1], n_classes=n_classes)


def test_from_codes_n_classes_must_agree_with_classes() -> None:
    with pytest.raises(InvalidParameterError, match=r"'n_classes': 3; expected len\(classes\) = 2"):
        Annotations.from_codes([0, 1], [0, 0], [0, 1], n_classes=3, classes=["a", "b"])
    ann = Annotations.from_codes([0, 1], [0, 0], [0, 1], n_classes=2, classes=["a", "b"])
    assert ann.classes.tolist() == ["a", "b"]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"classes": ["a", "a"]}, "classes"),
        ({"item_ids": ["x", "x"]}, "item_ids"),
        ({"worker_ids": [7, 7], "item_ids": ["x", "y"]}, "worker_ids"),
    ],
)
def test_from_codes_ids_must_be_distinct(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidParameterError, match=f"'{name}'.*distinct"):
        Annotations.from_codes([0, 1], [0, 1], [0, 1], **kwargs)


def test_from_codes_keeps_decoding_ids_as_given() -> None:
    ann = Annotations.from_codes([0, 1], [0, 0], [0, 1], item_ids=[1, "1"], classes=[0, "x"])
    assert ann.to_records() == [(1, 0, 0), ("1", 0, "x")]
    with pytest.raises(AnnotationError, match="item_ids has 1 ids for 2 item codes"):
        Annotations.from_codes([0, 1], [0, 0], [0, 1], item_ids=[1])


# --------------------------------------------------------------------------- from_csv labels
def _csv(tmp_path: Any, labels: list[str]) -> Any:
    path = tmp_path / "answers.csv"
    lines = [f"i{n // 2},w{n % 2},{label}" for n, label in enumerate(labels)]
    path.write_text("item,worker,label\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_from_csv_keeps_non_canonical_integer_strings_apart(tmp_path: Any) -> None:
    ann = Annotations.from_csv(_csv(tmp_path, ["01", "1", "+1", "1"]))
    assert sorted(ann.classes.tolist()) == ["+1", "01", "1"]
    assert ann.to_records()[0] == ("i0", "w0", "01")


def test_from_csv_reads_canonical_integers_as_integers(tmp_path: Any) -> None:
    ann = Annotations.from_csv(_csv(tmp_path, ["10", "2", "-1", "2"]))
    assert ann.classes.tolist() == [-1, 2, 10]


def test_from_csv_non_canonical_label_against_integer_classes(tmp_path: Any) -> None:
    with pytest.raises(AnnotationError, match=r":3: label: '01' is not one of the classes"):
        Annotations.from_csv(_csv(tmp_path, ["0", "01", "1", "0"]), classes=[0, 1])


# --------------------------------------------------------------------------- worker state
def _state(worker: Any, classes: tuple[Any, Any] = ("a", "b")) -> WorkerState:
    rows = [(i, worker(w), classes[(i + w) % 2]) for i in range(6) for w in range(3)]
    state: WorkerState = ModifiedDawidSkene().fit(rows).worker_state_
    return state


@pytest.mark.parametrize(
    ("worker", "classes"),
    [
        (lambda w: w + 0.5, ("a", "b")),  # float worker ids
        (lambda w: f"w{w}", (False, True)),  # bool classes
        (lambda w: w, (0.5, 1.5)),  # float classes
    ],
)
def test_worker_state_round_trips_json_scalars(
    tmp_path: Any, worker: Any, classes: tuple[Any, Any]
) -> None:
    state = _state(worker, classes)
    state.save(tmp_path / "s.json")
    loaded = WorkerState.load(tmp_path / "s.json")
    assert loaded.worker_ids == state.worker_ids
    assert [type(w) for w in loaded.worker_ids] == [type(w) for w in state.worker_ids]
    assert loaded.classes == state.classes
    assert [type(c) for c in loaded.classes] == [type(c) for c in state.classes]
    np.testing.assert_array_equal(loaded.counts, state.counts)


def test_worker_state_save_refuses_tuple_ids_before_writing(tmp_path: Any) -> None:
    state = _state(lambda w: (w, 1))
    with pytest.raises(
        AnnotationError, match=r"worker \(0, 1\) cannot be saved: its id is a tuple"
    ):
        state.save(tmp_path / "s.json")
    assert list(tmp_path.iterdir()) == []


def test_worker_state_save_refuses_unsavable_class(tmp_path: Any) -> None:
    state = WorkerState.empty([("x", 1), "y"])
    with pytest.raises(AnnotationError, match=r"class \('x', 1\) cannot be saved.*a boolean"):
        state.save(tmp_path / "s.json")
    assert list(tmp_path.iterdir()) == []


def test_worker_state_load_refuses_nan_id(tmp_path: Any) -> None:
    path = tmp_path / "s.json"
    state = WorkerState.empty(["a", "b"]).to_dict()
    state["workers"] = [{"id": 1.5, "n_answers": 1, "counts": [[1, 0], [0, 0]]}]
    text = json.dumps(state).replace("1.5", "NaN")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"\(id nan\): id: expected a string"):
        WorkerState.load(path)


def test_worker_state_merge_refuses_what_is_not_a_state() -> None:
    with pytest.raises(InvalidParameterError, match="'other': 'x'; expected a WorkerState"):
        WorkerState.empty(["a", "b"]).merge("x")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- multi-label
ML_ROWS = [
    ("i1", "w1", {"cat"}),
    ("i1", "w2", {"cat", "dog"}),
    ("i1", "w3", {"cat"}),
    ("i2", "w1", set()),
    ("i2", "w2", {"dog"}),
    ("i2", "w3", {"dog"}),
]


def test_multilabel_simulation_has_annotations() -> None:
    sim = simulate.multilabel(5, 20, 3, 1, seed=0)  # 5 answers: most workers answer nothing
    ann = sim.annotations
    assert isinstance(ann, MultiLabelAnnotations)
    assert ann is sim.annotations  # cached
    assert ann.item_ids.tolist() == list(range(5))
    assert ann.classes.tolist() == [0, 1, 2]
    assert ann.worker_ids.tolist() == sorted(set(sim.workers.tolist()))
    # Decoded, the answers are the simulation's rows.
    decoded = [
        (int(ann.item_ids[i]), int(ann.worker_ids[w]), frozenset(np.flatnonzero(v).tolist()))
        for i, w, v in zip(ann.items, ann.workers, ann.votes, strict=True)
    ]
    assert decoded == sim.rows


def test_multilabel_consolidator_accepts_a_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "task": [r[0] for r in ML_ROWS],
            "worker": [r[1] for r in ML_ROWS],
            "labels": [sorted(r[2]) for r in ML_ROWS],
        }
    )
    from_df = MultiLabelConsolidator().fit(df)
    from_rows = MultiLabelConsolidator().fit(ML_ROWS)
    assert list(from_df.results()) == list(from_rows.results())
    with pytest.raises(AnnotationError, match=r"lacks columns \['labels'\]"):
        MultiLabelConsolidator().fit(df.rename(columns={"labels": "label"}))


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_multilabel_refuses_a_missing_label(missing: Any) -> None:
    rows = [*ML_ROWS, ("i3", "w1", {"cat", missing})]
    with pytest.raises(AnnotationError, match=r"row 6 .*missing label"):
        MultiLabelConsolidator().fit(rows)
    with pytest.raises(InvalidParameterError, match="'classes'"):
        MultiLabelAnnotations.from_records(ML_ROWS, classes=["cat", "dog", missing])


def test_multilabel_refuses_a_missing_id() -> None:
    pd = pytest.importorskip("pandas")
    with pytest.raises(AnnotationError, match=r"missing worker id \(<NA>\) in row 1"):
        MultiLabelAnnotations.from_records([("i", "w1", {"a"}), ("i", pd.NA, {"a"})])


def test_multilabel_from_arrays_keeps_mixed_type_ids_apart() -> None:
    ann = MultiLabelAnnotations.from_arrays([1, "1"], ["a", "a"], [[1, 0], [0, 1]])
    assert ann.item_ids.tolist() == [1, "1"]


@pytest.mark.parametrize("base", [BoxConsolidator(), MultiLabelConsolidator(), "mds"])
def test_multilabel_base_must_be_single_label(base: Any) -> None:
    with pytest.raises(InvalidParameterError, match=r"'base'.*single-label estimator"):
        MultiLabelConsolidator(base=base).fit(ML_ROWS)


def test_multilabel_base_errors_on_data_are_not_blamed_on_base() -> None:
    # A real single-label base keeps its own errors (here: an invalid parameter of its own).
    with pytest.raises(InvalidParameterError, match="'max_iter'"):
        MultiLabelConsolidator(base=DawidSkene(max_iter=-1)).fit(ML_ROWS)


def test_worker_state_saved_from_two_threads_at_once_stays_whole(tmp_path: Path) -> None:
    import threading

    from consolidation import ModifiedDawidSkene
    from consolidation.simulate import classification

    states = [
        ModifiedDawidSkene().fit(classification(40, 6, 3, 3, seed=s).annotations).worker_state_
        for s in (1, 2)
    ]
    path = tmp_path / "state.json"
    errors: list[BaseException] = []

    def save_often(state: WorkerState) -> None:
        try:
            for _ in range(40):
                state.save(path)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=save_often, args=(s,)) for s in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    loaded = WorkerState.load(path)  # one whole state, not a mixture
    assert any(np.array_equal(loaded.counts, s.counts) for s in states)
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(["a"], "w1", 0), (["b"], "w2", 1)], "item id ['a'] in row 0 is a list"),
        ([("a", {"w": 1}, 0), ("b", "w2", 1)], "worker id {'w': 1} in row 0 is a dict"),
        ([("a", "w1", 0), ("b", "w2", [1])], "in row 1 is a list"),
    ],
)
def test_unhashable_ids_are_refused_by_name(rows: list[Any], message: str) -> None:
    # A list id was encoded silently (np.unique orders lists) and could never be looked up.
    with pytest.raises(AnnotationError, match=re.escape(message)):
        DawidSkene().fit(rows)
