"""Warm start across batches: edge cases of stored counts, and the gain on a simulated stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from consolidation import Annotations, DawidSkene
from consolidation.cli import main

CLASSES = ["a", "b", "c"]


def test_ds_warm_start_without_smoothing_and_an_unseen_true_class() -> None:
    # Batch 1 never shows class "c": the stored counts have an empty row for true class "c".
    # With smoothing=0 that row must not become 0/0 (NaN) in the warm start's first E-step.
    batch1 = Annotations.from_records(
        [("i1", "w1", "a"), ("i1", "w2", "a"), ("i2", "w1", "b"), ("i2", "w2", "b")],
        classes=CLASSES,
    )
    batch2 = Annotations.from_records(
        [("i3", "w1", "c"), ("i3", "w2", "c"), ("i4", "w1", "a"), ("i4", "w2", "a")],
        classes=CLASSES,
    )
    state = DawidSkene(smoothing=0, backend="numpy").fit(batch1).worker_state_
    warm = DawidSkene(smoothing=0, backend="numpy").fit(batch2, warm_start=state)
    assert np.isfinite(warm.posteriors_).all()
    np.testing.assert_allclose(warm.posteriors_.sum(axis=1), 1.0)
    assert warm.labels_.tolist() == ["c", "a"]
    assert np.isfinite(warm.worker_state_.counts).all()
    assert warm.worker_state_.n_answers.tolist() == [4, 4]


def test_cli_state_message_names_every_method_that_takes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text("item,worker,label\n1,w1,a\n1,w2,a\n2,w1,b\n2,w2,b\n")
    state = tmp_path / "workers.json"
    argv = ["classify", str(answers), "--state", str(state), "-o", str(tmp_path / "out.csv")]
    for _ in range(2):  # the default method keeps a state too
        assert main([*argv, "--method", "default"]) == 0
    assert "warm start (2 of 2 workers known)" in capsys.readouterr().err
    assert main([*argv, "--method", "mv"]) == 2
    assert "(default, mds, mds-service, ds), not 'mv'" in capsys.readouterr().err


def test_mds_warm_start_unseen_workers_start_from_initial_accuracy() -> None:
    # What WorkerState.population_accuracy documents: in MDS it is the shrinkage target, while
    # unseen workers' first E-step uses initial_accuracy (one epoch: only that E-step is seen).
    from consolidation import ModifiedDawidSkene, WorkerState

    batch = Annotations.from_records(
        [("i1", "u1", "a"), ("i1", "u2", "b"), ("i1", "u3", "b"), ("i2", "u1", "c")],
        classes=CLASSES,
    )
    other = WorkerState(CLASSES, ["x"], np.eye(3)[None] * 5, [15], [5.0, 5.0, 5.0], 0.35)
    cold = ModifiedDawidSkene(fixed_iter=1, backend="numpy").fit(batch)
    warm = ModifiedDawidSkene(fixed_iter=1, backend="numpy").fit(batch, warm_start=other)
    np.testing.assert_allclose(warm.posteriors_, cold.posteriors_)
    assert not np.allclose(warm.confusions_, cold.confusions_)  # shrunk toward 0.35, not 0.7
