"""BayesianDawidSkene(n_jobs=...): threaded settings give the sequential results exactly."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from consolidation import InvalidParameterError
from consolidation._kernels import _backend, em
from consolidation._threads import (
    available_cpus,
    map_ordered,
    raise_if_cancelled,
    resolve_n_jobs,
)
from consolidation.bayesian_ds import BayesianDawidSkene, default_estimator
from consolidation.simulate import classification

ROWS = [("i1", "w1", 0), ("i1", "w2", 0), ("i2", "w1", 1), ("i2", "w2", 1), ("i2", "w3", 0)]


def _fit(ann: Any, backend: str, n_jobs: int | None, **kw: Any) -> BayesianDawidSkene:
    est = default_estimator().set_params(backend=backend, n_jobs=n_jobs, **kw)
    return est.fit(ann)


def _assert_identical(a: BayesianDawidSkene, b: BayesianDawidSkene) -> None:
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert np.array_equal(a.posteriors_, b.posteriors_)  # bit for bit, not to a tolerance
    assert np.array_equal(a.setting_scores_, b.setting_scores_)
    assert np.array_equal(a.setting_elbos_, b.setting_elbos_)
    assert np.array_equal(a.restart_elbos_, b.restart_elbos_)
    assert np.array_equal(a.confusions_, b.confusions_)
    assert np.array_equal(a.confusion_prior_, b.confusion_prior_)
    assert np.array_equal(a.log_likelihoods_, b.log_likelihoods_)
    assert a.selected_params_ == b.selected_params_
    assert a.elbo_ == b.elbo_
    assert a.n_iter_ == b.n_iter_
    assert np.array_equal(a.worker_state_.counts, b.worker_state_.counts)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_threads_give_the_sequential_results_bit_for_bit(backend: str) -> None:
    ann = classification(1500, 40, 4, 5, seed=3).annotations
    one = _fit(ann, backend, 1)
    assert one.setting_scores_.shape == (4,)
    for n_jobs in (None, 2, -1, 8):
        _assert_identical(one, _fit(ann, backend, n_jobs))


def test_threads_match_when_the_kernels_would_run_in_parallel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sequential fits use the parallel kernel builds here, threaded ones the serial builds."""
    monkeypatch.setattr(em, "PARALLEL_MIN_ANSWERS", 0)
    ann = classification(800, 30, 3, 5, seed=4).annotations
    _assert_identical(_fit(ann, "numba", 1), _fit(ann, "numba", 2))


def test_threads_with_a_warm_start_and_a_known_class_mix() -> None:
    sim = classification(600, 25, 3, 4, seed=5)
    first = _fit(sim.annotations, "numpy", 1)
    again = classification(400, 25, 3, 4, seed=6).annotations
    for kw in ({}, {"class_prior": [1.0, 2.0, 3.0]}):
        one = _fit(again, "numpy", 1, **kw)
        two = default_estimator().set_params(backend="numpy", n_jobs=2, **kw)
        one.fit(again, warm_start=first.worker_state_)
        two.fit(again, warm_start=first.worker_state_)
        _assert_identical(one, two)


def test_settings_run_in_pool_threads_with_serial_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, bool]] = []
    lock = threading.Lock()
    fit_setting = BayesianDawidSkene._fit_setting

    def spy(self: BayesianDawidSkene, *args: Any, **kw: Any) -> Any:
        serial = getattr(_backend._local, "serial", False)
        with lock:
            seen.append((threading.current_thread().name, serial))
        return fit_setting(self, *args, **kw)

    monkeypatch.setattr(BayesianDawidSkene, "_fit_setting", spy)
    _fit(ROWS, "numpy", 1)
    assert seen == [(threading.main_thread().name, False)] * 4
    seen.clear()
    _fit(ROWS, "numpy", 2)
    assert len(seen) == 4
    assert all(name.startswith("consolidation") and serial for name, serial in seen)
    assert not getattr(_backend._local, "serial", False)  # the caller's thread is untouched


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_an_exception_in_a_setting_propagates(monkeypatch: pytest.MonkeyPatch, n_jobs: int) -> None:
    fit_setting = BayesianDawidSkene._fit_setting

    def failing(self: BayesianDawidSkene, *args: Any, **kw: Any) -> Any:
        setting = args[5]
        if setting["n_subtypes"] == 1 and setting["pooled_prior"] is None:
            raise RuntimeError(f"boom at diag_prior={setting['diag_prior']}")
        return fit_setting(self, *args, **kw)

    monkeypatch.setattr(BayesianDawidSkene, "_fit_setting", failing)
    est = default_estimator().set_params(backend="numpy", n_jobs=n_jobs)
    # Two settings fail; as in the sequential loop, the first one's exception comes out.
    with pytest.raises(RuntimeError, match=r"boom at diag_prior=4\.0"):
        est.fit(ROWS)
    assert not hasattr(est, "posteriors_")


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, 2.0, True, False, "2", [2]])
def test_invalid_n_jobs_raises_at_fit(n_jobs: object) -> None:
    est = BayesianDawidSkene(n_jobs=n_jobs)  # stored, not checked
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        est.fit(ROWS)


@pytest.mark.parametrize("n_jobs", [None, 1, 3, -1, np.int64(2)])
def test_valid_n_jobs(n_jobs: Any) -> None:
    assert BayesianDawidSkene(n_jobs=n_jobs, backend="numpy").fit(ROWS).labels_.shape == (2,)


def test_n_jobs_is_a_parameter() -> None:
    est = default_estimator()
    assert est.get_params()["n_jobs"] == -1
    assert "n_jobs=-1" in repr(est)
    assert BayesianDawidSkene().get_params()["n_jobs"] is None
    assert "n_jobs" not in repr(BayesianDawidSkene())
    assert est.set_params(n_jobs=2) is est
    assert est.n_jobs == 2
    clone = type(est)(**est.get_params())
    assert clone.get_params() == est.get_params()


def test_resolve_n_jobs() -> None:
    assert resolve_n_jobs(None) == 1
    assert resolve_n_jobs(1) == 1
    assert resolve_n_jobs(5) == 5
    assert resolve_n_jobs(-1) == available_cpus() >= 1
    with pytest.raises(InvalidParameterError):
        resolve_n_jobs(0)


def test_map_ordered_keeps_task_order() -> None:
    tasks = list(range(7))
    for n_jobs in (None, 1, 3, -1, 20):
        assert list(map_ordered(lambda x: x * x, tasks, n_jobs)) == [x * x for x in tasks]
    assert list(map_ordered(lambda x: x, [], 4)) == []


def _sibling(started: threading.Event, finished: threading.Event) -> int:
    """A long task that checks for cancellation: at most 30 s if the check never fires."""
    started.set()
    for _ in range(30_000):
        raise_if_cancelled()
        time.sleep(0.001)
    finished.set()
    return 1


def test_a_failure_stops_the_tasks_still_running() -> None:
    started, finished = threading.Event(), threading.Event()

    def task(i: int) -> int:
        if i == 0:
            assert started.wait(timeout=30)  # fail once the sibling runs
            raise RuntimeError("boom")
        return _sibling(started, finished)

    with pytest.raises(RuntimeError, match="boom"):
        list(map_ordered(task, [0, 1], 2))
    assert not finished.is_set()  # it stopped at a check instead of running to its end


def test_an_interrupted_caller_stops_the_tasks_still_running() -> None:
    """Ctrl-C (or any exception) in the consumer closes the generator: the same path."""
    started, finished = threading.Event(), threading.Event()
    gen = map_ordered(lambda i: i if i == 0 else _sibling(started, finished), [0, 1], 2)
    assert next(gen) == 0
    assert started.wait(timeout=30)
    gen.close()
    assert not finished.is_set()


def test_the_cancellation_check_is_a_no_op_outside_the_pool() -> None:
    raise_if_cancelled()  # the calling thread has no stop event
    assert list(map_ordered(lambda i: raise_if_cancelled() or i, [1, 2, 3], 1)) == [1, 2, 3]
