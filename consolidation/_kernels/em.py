"""E-step and M-step kernels shared by Dawid-Skene, Modified Dawid-Skene and Bayesian Dawid-Skene.

Layouts (all C-contiguous float64 unless noted):

- answers grouped by item: ``items``, ``workers``, ``labels`` (int32 codes) sorted by item, with
  ``indptr`` (int64, n_items + 1): item ``i`` owns answers ``indptr[i]:indptr[i + 1]``;
- ``log_emit``: (n_workers, L, S) with ``log_emit[w, l, t] = log P(worker w answers l | state t)``;
  the latent state is the last (contiguous) axis so the inner loops run over memory in order.
  Dawid-Skene has one state per class (``S = L = K``); Bayesian DS with subtypes has ``S = K * M``;
- ``log_prior``: (S,) log prior of the states;
- ``post``: (n_items, S) output, receives normalised posteriors;
- ``counts``: (n_workers, L, S) output, ``counts[w, l, t] = sum of post[i, t]`` over the answers
  ``l`` of worker ``w`` (soft confusion counts, transposed like ``log_emit``).

The E-step accumulation runs in parallel over items (every thread writes only its own rows); the
M-step is a serial pass in item order, or on large inputs a parallel one over a fixed number of
runs of answers, each into its own table. Kernels do no validation and write into the
preallocated outputs. Both twins add in the same order and :func:`normalise` takes numpy's
``exp`` on both backends, so the two backends give bit-identical posteriors.

Posterior terms more than 700 below an item's largest log-term are set to exactly 0 instead of
being left as subnormal floats (< 1e-304): arithmetic on subnormals is two orders of magnitude
slower on common CPUs, and such a probability changes no sum in float64 anyway. Both twins do it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._backend import Backend, Kernel

__all__ = [
    "column_sums",
    "e_step",
    "e_step_tracked",
    "group_sums",
    "m_step_counts",
    "m_step_in_runs",
    "m_step_runs",
    "normalise",
    "normalise_tracked",
]

prange = range  # numba.prange in the compiled copies (see Kernel(parallel=True))

#: Below this many answers the kernels run single-threaded: thread start-up and synchronisation
#: cost more than they save, and collapse when other processes share the cores.
PARALLEL_MIN_ANSWERS = 200_000

#: Log-distance below the maximum under which a posterior term is flushed to 0 (exp(-700) ~ 1e-304).
_FLUSH = -700.0

F64 = NDArray[np.float64]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]


def _accumulate_loop(
    items: I32,
    workers: I32,
    labels: I32,
    indptr: I64,
    log_emit: F64,
    log_prior: F64,
    post: F64,
    top: F64,
) -> None:
    n_items, k = post.shape
    for i in prange(n_items):
        # Same operations in the same order as the numpy twin: answers summed in order, then the
        # prior; then the row maximum is subtracted and far-below terms are flushed (all exact).
        for t in range(k):
            post[i, t] = 0.0
        for a in range(indptr[i], indptr[i + 1]):
            w = workers[a]
            lab = labels[a]
            for t in range(k):
                post[i, t] += log_emit[w, lab, t]
        m = -np.inf
        for t in range(k):
            post[i, t] += log_prior[t]
            m = max(m, post[i, t])
        top[i] = m
        for t in range(k):
            d = post[i, t] - m
            post[i, t] = d if d > _FLUSH else -np.inf


def _accumulate_numpy(
    items: I32,
    workers: I32,
    labels: I32,
    indptr: I64,
    log_emit: F64,
    log_prior: F64,
    post: F64,
    top: F64,
) -> None:
    n_items, k = post.shape
    for t in range(k):
        post[:, t] = np.bincount(items, weights=log_emit[workers, labels, t], minlength=n_items)
    post += log_prior
    np.max(post, axis=1, out=top)
    np.subtract(post, top[:, None], out=post)
    post[post <= _FLUSH] = -np.inf


def normalise(post: F64, top: F64, backend: Backend = "numpy") -> float:
    """Exponentiate shifted log-posteriors in place and normalise; return the log-likelihood.

    ``post`` holds log-terms minus their row maximum ``top`` (-inf where flushed). The
    exponential is numpy's on both backends: numpy's vectorised ``exp`` differs from the C
    library's (which numba calls) by one ulp on some inputs, so one implementation keeps the
    backends bit-identical. The row sums (columns added left to right) and the division are the
    :data:`_scale_rows` kernel, the same operations in the same order on both backends. It runs
    block by block of rows (see :func:`block_rows`), so that the kernel finds the exponentials of
    a block in the CPU cache.
    """
    return _normalise(post, top, backend, None, None)[0]


def normalise_tracked(
    post: F64, top: F64, backend: Backend, previous: F64, totals: F64
) -> tuple[float, float]:
    """:func:`normalise`, which also writes the column sums of the result and its change.

    ``totals`` (S,) receives the column sums of the normalised ``post``, its rows added in order
    (so ``column_sums(post)`` bit for bit); the second value returned is ``max |post - previous|``
    over the normalised posteriors (0 for an empty ``post``; NaN differences are ignored). One
    pass over the rows while they are in the CPU cache instead of three over the whole arrays.
    """
    return _normalise(post, top, backend, previous, totals)


def _normalise(
    post: F64, top: F64, backend: Backend, previous: F64 | None, totals: F64 | None
) -> tuple[float, float]:
    n, s = post.shape
    sums = np.empty(n)
    moved = np.zeros(s)  # the largest change of each column
    step = block_rows(s)
    scale = (_scale_rows if previous is None else _scale_rows_tracked).get(backend)
    if totals is not None:
        totals[:] = 0.0
    for lo in range(0, n, step):
        block = post[lo : lo + step]
        np.exp(block, out=block)  # exp(-inf) = 0: flushed terms never become subnormals
        if previous is None or totals is None:
            scale(block, sums[lo : lo + step])
        else:
            scale(block, sums[lo : lo + step], previous[lo : lo + step], totals, moved)
    np.log(sums, out=sums)
    sums += top
    return float(sums.sum()), float(moved.max(initial=0.0))


def _scale_rows_loop(block: F64, sums: F64) -> None:
    # Each row's sum, its columns added left to right as in the twin, then the row divided by it.
    n, s = block.shape
    for i in range(n):
        total = block[i, 0]
        for t in range(1, s):
            total += block[i, t]
        sums[i] = total
        for t in range(s):
            block[i, t] /= total


def _scale_rows_numpy(block: F64, sums: F64) -> None:
    _add_runs(block.reshape(block.shape[0], 1, block.shape[1]), sums[:, None])
    block /= sums[:, None]


def _scale_rows_tracked_loop(block: F64, sums: F64, previous: F64, totals: F64, moved: F64) -> None:
    # _scale_rows_loop, then the row is added to the column totals (rows in order, as column_sums
    # adds them) and raises the largest change of each column, moved[t]. Inner loops without a
    # reduction into one scalar: LLVM vectorises them (a running maximum would be a serial chain).
    n, s = block.shape
    for i in range(n):
        total = block[i, 0]
        for t in range(1, s):
            total += block[i, t]
        sums[i] = total
        for t in range(s):
            block[i, t] /= total
        for t in range(s):
            v = block[i, t]
            totals[t] += v
            d = abs(v - previous[i, t])
            moved[t] = d if d > moved[t] else moved[t]


def _scale_rows_tracked_numpy(
    block: F64, sums: F64, previous: F64, totals: F64, moved: F64
) -> None:
    _scale_rows_numpy(block, sums)
    # The totals first, then the rows in order: einsum adds rows sequentially (see column_sums).
    np.einsum("ij->j", np.concatenate((totals[None], block)), out=totals)
    np.fmax(moved, np.fmax.reduce(np.abs(block - previous), axis=0), out=moved)


def block_rows(width: int) -> int:
    """Rows per block of the row-wise numpy passes over an (n, ``width``) float64 array.

    A block holds about :data:`_BLOCK_BYTES`, so that the several passes over it (one per column
    of a row sum) run in the CPU cache instead of each reading the whole array from memory.
    """
    return max(1, _BLOCK_BYTES // (8 * max(1, width)))


#: Bytes per block of :func:`block_rows` (a fraction of a common L2 cache).
_BLOCK_BYTES = 1 << 19


def _add_runs(runs: F64, out: F64) -> None:
    """``out[:, g] = runs[:, g, 0] + runs[:, g, 1] + ...``, the columns of a run added in order."""
    np.copyto(out, runs[:, :, 0])
    for j in range(1, runs.shape[2]):
        out += runs[:, :, j]


def group_sums(a: F64, size: int, out: F64) -> F64:
    """Write into ``out`` (n, G) the sums of each run of ``size`` columns of ``a`` (n, G * size).

    The columns of a run are added in order; ``out`` is returned.

    ``a.reshape(n, G, size).sum(axis=2)`` by slices, block by block of rows (see
    :func:`block_rows`): numpy's reduction over a short inner axis is up to ten times slower, and
    the EM loops call this every iteration.
    """
    n = a.shape[0]
    runs = a.reshape(n, -1, size)
    step = block_rows(a.shape[1])
    for lo in range(0, n, step):
        _add_runs(runs[lo : lo + step], out[lo : lo + step])
    return out


def column_sums(a: F64) -> F64:
    """``a.sum(axis=0)``, bit for bit (rows added in order), three times faster via ``einsum``."""
    out: F64 = np.einsum("ij->j", a)
    return out


_accumulate = Kernel(_accumulate_loop, _accumulate_numpy, parallel=True)
_scale_rows = Kernel(_scale_rows_loop, _scale_rows_numpy)
_scale_rows_tracked = Kernel(_scale_rows_tracked_loop, _scale_rows_tracked_numpy)


class _EStep:
    """``e_step(backend, items, workers, labels, indptr, log_emit, log_prior, post) -> loglik``."""

    def __call__(
        self,
        backend: Backend,
        items: I32,
        workers: I32,
        labels: I32,
        indptr: I64,
        log_emit: F64,
        log_prior: F64,
        post: F64,
    ) -> float:
        top = _accumulate_into(backend, items, workers, labels, indptr, log_emit, log_prior, post)
        return normalise(post, top, backend)


class _TrackedEStep:
    """``e_step_tracked(..., post, previous, totals) -> (loglik, max |post - previous|)``."""

    def __call__(
        self,
        backend: Backend,
        items: I32,
        workers: I32,
        labels: I32,
        indptr: I64,
        log_emit: F64,
        log_prior: F64,
        post: F64,
        previous: F64,
        totals: F64,
    ) -> tuple[float, float]:
        top = _accumulate_into(backend, items, workers, labels, indptr, log_emit, log_prior, post)
        return normalise_tracked(post, top, backend, previous, totals)


def _accumulate_into(
    backend: Backend,
    items: I32,
    workers: I32,
    labels: I32,
    indptr: I64,
    log_emit: F64,
    log_prior: F64,
    post: F64,
) -> F64:
    """Write shifted log-posteriors into ``post``; return the row maxima (see :func:`normalise`)."""
    top = np.empty(post.shape[0])
    fn = _accumulate.get(backend, parallel=items.size >= PARALLEL_MIN_ANSWERS)
    fn(items, workers, labels, indptr, log_emit, log_prior, post, top)
    return top


def _m_step_loop(items: I32, workers: I32, labels: I32, post: F64, counts: F64) -> None:
    # Answers in item order: posteriors are read sequentially and the scattered writes go to the
    # small (n_workers, L, S) table, which stays in cache. Faster than a parallel pass in worker
    # order (random reads of the posteriors), and it sums in exactly the order of the numpy twin.
    # Large inputs are split into runs of answers instead (m_step_in_runs), one table per run.
    k = post.shape[1]
    counts[:, :, :] = 0.0
    for a in range(items.shape[0]):
        i = items[a]
        w = workers[a]
        lab = labels[a]
        for t in range(k):
            counts[w, lab, t] += post[i, t]


def _m_step_numpy(items: I32, workers: I32, labels: I32, post: F64, counts: F64) -> None:
    n_workers, n_labels, _ = counts.shape
    cell = workers.astype(np.int64) * n_labels + labels
    for t in range(post.shape[1]):
        counts[:, :, t] = np.bincount(
            cell, weights=post[items, t], minlength=n_workers * n_labels
        ).reshape(n_workers, n_labels)


def _m_step_runs_loop(
    items: I32, workers: I32, labels: I32, post: F64, bounds: I64, tables: F64
) -> None:
    # Run c of answers, bounds[c]:bounds[c + 1], is counted by the serial loop into its own
    # table; the runs go to separate threads, and no two threads ever write the same memory.
    for c in prange(tables.shape[0]):
        lo = bounds[c]
        hi = bounds[c + 1]
        _m_step_loop(items[lo:hi], workers[lo:hi], labels[lo:hi], post, tables[c])


def _m_step_runs_numpy(
    items: I32, workers: I32, labels: I32, post: F64, bounds: I64, tables: F64
) -> None:
    for c in range(tables.shape[0]):
        lo, hi = int(bounds[c]), int(bounds[c + 1])
        _m_step_numpy(items[lo:hi], workers[lo:hi], labels[lo:hi], post, tables[c])


_m_step = Kernel(_m_step_loop, _m_step_numpy)
_m_step_runs = Kernel(_m_step_runs_loop, _m_step_runs_numpy, parallel=True, helpers=(_m_step_loop,))

#: Runs of answers the M-step counts separately (in parallel) on large inputs: 4, or 2 when four
#: tables would outweigh the answers (see :func:`m_step_runs`). Never the number of threads: the
#: sums, and so the results, must not depend on the machine.
M_STEP_RUNS = 4


def m_step_runs(n_answers: int, table_size: int) -> int:
    """Return how many runs of answers the M-step uses for this input shape (1: serial).

    Each run costs a table of ``table_size`` cells to clear and add, so the runs pay off only
    when the tables are small next to the answers.
    """
    if n_answers < PARALLEL_MIN_ANSWERS:
        return 1
    if table_size * M_STEP_RUNS <= n_answers:
        return M_STEP_RUNS
    return 2 if table_size <= n_answers else 1


def m_step_in_runs(
    backend: Backend, items: I32, workers: I32, labels: I32, post: F64, counts: F64, runs: int
) -> None:
    """Write soft counts into ``counts``, from ``runs`` consecutive runs of answers.

    Each run is counted on its own thread into its own table; the tables are then added in
    order, by numpy for both backends, so the two stay bit-identical.
    """
    n = items.shape[0]
    bounds = (np.arange(runs + 1, dtype=np.int64) * n) // runs
    tables = np.empty((runs, *counts.shape))
    _m_step_runs.get(backend)(items, workers, labels, post, bounds, tables)
    np.sum(tables, axis=0, out=counts)


class _MStep:
    """``m_step_counts(backend, items, workers, labels, post, counts)``: soft confusion counts."""

    def __call__(
        self, backend: Backend, items: I32, workers: I32, labels: I32, post: F64, counts: F64
    ) -> None:
        runs = m_step_runs(items.shape[0], counts.size)
        if runs > 1:
            m_step_in_runs(backend, items, workers, labels, post, counts, runs)
        else:
            _m_step.get(backend)(items, workers, labels, post, counts)


#: ``m_step_counts(backend, items, workers, labels, post, counts)``: soft confusion counts.
m_step_counts = _MStep()

#: ``e_step(backend, items, workers, labels, indptr, log_emit, log_prior, post) -> loglik``:
#: writes normalised posteriors into ``post`` and returns sum_i log sum_t exp(unnormalised).
e_step = _EStep()

#: ``e_step_tracked(backend, items, workers, labels, indptr, log_emit, log_prior, post, previous,
#: totals) -> (loglik, change)``: :data:`e_step` into ``post`` (which must not be ``previous``),
#: that also writes the column sums of the new posteriors into ``totals`` and returns as
#: ``change`` their largest absolute difference from ``previous`` (see :func:`normalise_tracked`).
e_step_tracked = _TrackedEStep()
