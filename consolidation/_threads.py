"""Independent tasks run in threads, with results in task order: the ``n_jobs`` of estimators.

Private; :class:`~consolidation.BayesianDawidSkene` fits its settings with :func:`map_ordered`.
The tasks must not share anything they modify. Threads pay off because the numba kernels release
the GIL (``nogil=True``) and numpy releases it inside operations on large arrays; each thread runs
the kernels single-threaded (:func:`~._kernels._backend.serial_kernels`), so ``n_jobs`` threads use
about ``n_jobs`` cores.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from ._errors import InvalidParameterError
from ._kernels._backend import serial_kernels

__all__ = [
    "available_cpus",
    "check_n_jobs",
    "map_ordered",
    "raise_if_cancelled",
    "resolve_n_jobs",
]

T = TypeVar("T")
R = TypeVar("R")

_N_JOBS_ALLOWED = "None, 1 (one thread), -1 (all available CPUs) or a positive integer"
_local = threading.local()  # .stop: the Event that tells this pool thread's task to give up


def available_cpus() -> int:
    """Return the CPUs this process may run on (its affinity mask where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)  # pragma: no cover - macOS and Windows


def check_n_jobs(n_jobs: Any) -> None:
    """Raise :class:`InvalidParameterError` unless ``n_jobs`` is None, -1 or a positive integer."""
    if n_jobs is None:
        return
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer):
        raise InvalidParameterError("n_jobs", n_jobs, _N_JOBS_ALLOWED)
    if n_jobs != -1 and n_jobs < 1:
        raise InvalidParameterError("n_jobs", n_jobs, _N_JOBS_ALLOWED)


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Return the number of threads ``n_jobs`` allows (checked): None -> 1, -1 -> all CPUs."""
    check_n_jobs(n_jobs)
    if n_jobs is None:
        return 1
    return available_cpus() if n_jobs == -1 else int(n_jobs)


def raise_if_cancelled() -> None:
    """Raise :class:`concurrent.futures.CancelledError` if this thread's task should give up.

    Long tasks call it once per iteration: when one task fails, or the caller is interrupted
    (Ctrl-C), the tasks still running in :func:`map_ordered`'s threads stop at their next
    iteration instead of running to the end. A no-op outside those threads.
    """
    stop = getattr(_local, "stop", None)
    if stop is not None and stop.is_set():
        raise CancelledError


def _serial(fn: Callable[[T], R], task: T, stop: threading.Event) -> R:
    _local.stop = stop
    try:
        with serial_kernels():
            return fn(task)
    finally:
        _local.stop = None


def map_ordered(fn: Callable[[T], R], tasks: Sequence[T], n_jobs: int | None) -> Iterator[R]:
    """Yield ``fn(task)`` for each task in order, computed by up to ``n_jobs`` threads.

    One thread (or one task): a plain loop in the calling thread, no pool, so a result the
    caller drops is freed before the next task starts. Otherwise a pool of
    ``min(threads, len(tasks))`` threads; a result is released once yielded. An exception comes
    out as the loop would raise it: the first failing task's in task order. Tasks not yet
    started are then cancelled, the running ones stop at their next :func:`raise_if_cancelled`,
    and the exception is raised once they have.
    """
    workers = min(resolve_n_jobs(n_jobs), len(tasks))
    if workers <= 1:
        for task in tasks:
            yield fn(task)
        return
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="consolidation") as pool:
        futures = deque(pool.submit(_serial, fn, task, stop) for task in tasks)
        try:
            while futures:
                yield futures.popleft().result()
        except BaseException:  # including Ctrl-C and the caller closing the generator early
            stop.set()
            for future in futures:
                future.cancel()
            raise
