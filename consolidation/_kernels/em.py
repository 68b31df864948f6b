"""E-step and M-step kernels shared by Dawid-Skene and Modified Dawid-Skene.

Layouts (all C-contiguous float64 unless noted):

- answers: ``items``, ``workers``, ``labels`` -- int32 codes, one entry per answer.
- ``log_emit``: (n_workers, K, K) with ``log_emit[w, l, t] = log P(worker w answers l | true t)``;
  the true class is the last (contiguous) axis so the inner loop runs over memory in order.
- ``log_prior``: (K,) log class prior.
- ``post``: (n_items, K) output; receives normalised posteriors.
- ``counts``: (n_workers, K, K) output; ``counts[w, l, t] = sum of post[i, t]`` over the answers
  ``l`` of worker ``w`` (soft confusion counts, transposed like ``log_emit``).

Kernels do no validation and write into the preallocated outputs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._backend import Kernel

__all__ = ["e_step", "m_step_counts"]

F64 = NDArray[np.float64]
I32 = NDArray[np.int32]


def _e_step_loop(
    items: I32, workers: I32, labels: I32, log_emit: F64, log_prior: F64, post: F64
) -> float:
    n_items, k = post.shape
    post[:, :] = 0.0
    for a in range(items.shape[0]):
        i = items[a]
        w = workers[a]
        lab = labels[a]
        for t in range(k):
            post[i, t] += log_emit[w, lab, t]
    loglik = 0.0
    for i in range(n_items):
        m = -np.inf
        for t in range(k):
            v = post[i, t] + log_prior[t]
            post[i, t] = v
            if v > m:
                m = v
        s = 0.0
        for t in range(k):
            e = np.exp(post[i, t] - m)
            post[i, t] = e
            s += e
        for t in range(k):
            post[i, t] /= s
        loglik += m + np.log(s)
    return loglik


def _e_step_numpy(
    items: I32, workers: I32, labels: I32, log_emit: F64, log_prior: F64, post: F64
) -> float:
    n_items, k = post.shape
    for t in range(k):
        post[:, t] = np.bincount(items, weights=log_emit[workers, labels, t], minlength=n_items)
    post += log_prior
    m = post.max(axis=1, keepdims=True)
    np.subtract(post, m, out=post)
    np.exp(post, out=post)
    s = post.sum(axis=1, keepdims=True)
    post /= s
    return float(np.sum(m[:, 0] + np.log(s[:, 0])))


def _m_step_loop(items: I32, workers: I32, labels: I32, post: F64, counts: F64) -> None:
    k = post.shape[1]
    counts[:, :, :] = 0.0
    for a in range(items.shape[0]):
        i = items[a]
        w = workers[a]
        lab = labels[a]
        for t in range(k):
            counts[w, lab, t] += post[i, t]


def _m_step_numpy(items: I32, workers: I32, labels: I32, post: F64, counts: F64) -> None:
    n_workers, k, _ = counts.shape
    cell = workers.astype(np.int64) * k + labels
    for t in range(k):
        counts[:, :, t] = np.bincount(
            cell, weights=post[items, t], minlength=n_workers * k
        ).reshape(n_workers, k)


#: ``e_step(backend, items, workers, labels, log_emit, log_prior, post) -> log-likelihood``:
#: writes normalised posteriors into ``post`` and returns sum_i log sum_t exp(unnormalised).
e_step = Kernel(_e_step_loop, _e_step_numpy)

#: ``m_step_counts(backend, items, workers, labels, post, counts)``: soft confusion counts.
m_step_counts = Kernel(_m_step_loop, _m_step_numpy)
