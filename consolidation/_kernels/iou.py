"""Bounding-box kernels: pairwise IoU and the per-(image, class) clustering of reference 2.5.

Boxes are rows ``(left, top, width, height)`` of a float64 array, continuous coordinates (no +1
pixel convention). IoU is 0 when the boxes do not overlap or the union is empty, so zero-area boxes
never produce NaN. Every function here exists twice, a loop for numba and a numpy twin; both perform
the same IEEE operations in the same order, so their results are bitwise identical (the parity tests
check exact equality, which the threshold decisions ``IoU >= tau`` rely on).

The clustering kernel never calls scipy: it pauses a group whenever the assignment of a worker's
boxes to the current clusters is not trivial, and :func:`cluster_boxes` resolves those steps with
:func:`scipy.optimize.linear_sum_assignment` (identically for both backends) before resuming.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._backend import Backend, Kernel, resolve_backend

__all__ = [
    "CLUSTER",
    "IOU_MATRIX",
    "IOU_SLACK",
    "PAIRED_IOU",
    "SEGMENT_SORT",
    "cluster_boxes",
    "iou_matrix",
    "paired_iou",
    "paired_iou_kernel",
    "segment_sort",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


# ---------------------------------------------------------------------------------------- IoU
def _iou1(
    l1: float, t1: float, w1: float, h1: float, l2: float, t2: float, w2: float, h2: float
) -> float:
    """IoU of two boxes (scalar; called from the numba loops)."""
    iw = min(l1 + w1, l2 + w2) - max(l1, l2)
    ih = min(t1 + h1, t2 + h2) - max(t1, t2)
    if iw <= 0.0 or ih <= 0.0:
        return 0.0
    inter = iw * ih
    union = w1 * h1 + w2 * h2 - inter
    if union <= 0.0:
        return 0.0
    return min(inter / union, 1.0)


def paired_iou(a: F64, b: F64) -> F64:
    """IoU of aligned rows ``a[r]`` and ``b[r]`` (numpy; the same operations as the numba loops).

    Parameters
    ----------
    a, b : ndarray of shape (n, 4)
        Boxes as ``(left, top, width, height)``.

    Returns
    -------
    ndarray of shape (n,)
        IoU in [0, 1]; 0 for disjoint boxes and for an empty union.

    Examples
    --------
    >>> paired_iou(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 2, 2]])).tolist()
    [0.3333333333333333]
    """
    l1, t1, w1, h1 = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    l2, t2, w2, h2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    iw = np.minimum(l1 + w1, l2 + w2) - np.maximum(l1, l2)
    ih = np.minimum(t1 + h1, t2 + h2) - np.maximum(t1, t2)
    overlap = (iw > 0.0) & (ih > 0.0)
    inter = np.where(overlap, iw * ih, 0.0)
    union = w1 * h1 + w2 * h2 - inter
    ok = overlap & (union > 0.0)
    out = np.zeros(a.shape[0], dtype=np.float64)
    np.divide(inter, union, out=out, where=ok)
    return np.minimum(out, 1.0, out=out)


def _iou_matrix_loop(a: F64, b: F64, out: F64) -> None:
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i, j] = _iou1(
                a[i, 0], a[i, 1], a[i, 2], a[i, 3], b[j, 0], b[j, 1], b[j, 2], b[j, 3]
            )


def _iou_matrix_twin(a: F64, b: F64, out: F64) -> None:
    n, m = a.shape[0], b.shape[0]
    out[...] = paired_iou(np.repeat(a, m, axis=0), np.tile(b, (n, 1))).reshape(n, m)


def _paired_iou_loop(a: F64, b: F64, out: F64) -> None:
    for i in range(a.shape[0]):
        out[i] = _iou1(a[i, 0], a[i, 1], a[i, 2], a[i, 3], b[i, 0], b[i, 1], b[i, 2], b[i, 3])


def _paired_iou_twin(a: F64, b: F64, out: F64) -> None:
    out[...] = paired_iou(a, b)


# ------------------------------------------------------------------------------ segment sort
def _segment_sort_loop(starts: I64, keys: F64, order: I64, max_len: int) -> None:
    # Stable insertion sort of order[starts[s]:starts[s + 1]] by the rows keys[order[i]]
    # (lexicographic, column 0 first); segments longer than max_len are left to the caller.
    nk = keys.shape[1]
    for s in range(starts.shape[0] - 1):
        lo = starts[s]
        hi = starts[s + 1]
        if hi - lo > max_len:
            continue
        for i in range(lo + 1, hi):
            cur = order[i]
            j = i - 1
            while j >= lo:
                prev = order[j]
                greater = False
                for k in range(nk):
                    if keys[prev, k] != keys[cur, k]:
                        greater = keys[prev, k] > keys[cur, k]
                        break
                if not greater:
                    break
                order[j + 1] = prev
                j -= 1
            order[j + 1] = cur


def _segment_sort_twin(starts: I64, keys: F64, order: I64, max_len: int) -> None:
    sub = order[starts[0] : starts[-1]]
    segment = np.repeat(np.arange(starts.size - 1), np.diff(starts))
    vals = keys[sub]
    columns = [vals[:, k] for k in range(keys.shape[1] - 1, -1, -1)]
    order[starts[0] : starts[-1]] = sub[np.lexsort([*columns, segment])]


# ------------------------------------------------------------------------- clustering (numba)
def _median_fuse(s: int, q: int, c: int, coords: F64, local: I64, fused: F64, slot: int) -> None:
    """Fused box of cluster ``c`` = coordinate-wise median of its members among boxes ``s..q-1``."""
    members = np.empty(q - s, dtype=np.int64)
    k = 0
    for b in range(s, q):
        if local[b] == c:
            members[k] = b
            k += 1
    buf = np.empty(k, dtype=np.float64)
    for d in range(4):
        for i in range(k):
            buf[i] = coords[members[i], d]
        buf.sort()
        fused[slot, d] = (buf[(k - 1) // 2] + buf[k // 2]) * 0.5


def _join_run(
    g: int,
    s: int,
    p: int,
    q: int,
    target: I64,
    coords: F64,
    local: I64,
    sums: F64,
    counts: I64,
    fused: F64,
    ncl: I64,
    median: bool,
) -> None:
    """Add boxes ``p..q-1`` (one worker) to the clusters ``target[b]`` (-1: a new cluster each)."""
    m0 = ncl[g]
    for b in range(p, q):
        c = target[b]
        if c < 0:
            c = ncl[g]
            ncl[g] += 1
            slot = s + c
            for d in range(4):
                sums[slot, d] = coords[b, d]
                fused[slot, d] = coords[b, d]
            counts[slot] = 1
        else:
            slot = s + c
            for d in range(4):
                sums[slot, d] += coords[b, d]
            counts[slot] += 1
        local[b] = c
    for b in range(p, q):
        c = local[b]
        if c < m0:
            slot = s + c
            if median:
                _median_fuse(s, q, c, coords, local, fused, slot)
            else:
                for d in range(4):
                    fused[slot, d] = sums[slot, d] / counts[slot]


def _cluster_loop(
    starts: I64,
    run_end: I64,
    coords: F64,
    tau: float,
    median: bool,
    todo: I64,
    pos: I64,
    target: I64,
    has_forced: NDArray[np.bool_],
    local: I64,
    sums: F64,
    counts: I64,
    fused: F64,
    ncl: I64,
    paused: NDArray[np.bool_],
) -> None:
    for t in range(todo.shape[0]):
        g = todo[t]
        s = starts[g]
        e = starts[g + 1]
        p = pos[g]
        paused[g] = False
        if has_forced[g]:
            q = run_end[p]
            _join_run(g, s, p, q, target, coords, local, sums, counts, fused, ncl, median)
            has_forced[g] = False
            p = q
        while p < e:
            q = run_end[p]
            m = ncl[g]
            conflict = False
            for b in range(p, q):
                target[b] = -1
            if m > 0:
                col_hits = np.zeros(m, dtype=np.int64)
                for b in range(p, q):
                    hits = 0
                    for c in range(m):
                        f = s + c
                        v = _iou1(
                            coords[b, 0],
                            coords[b, 1],
                            coords[b, 2],
                            coords[b, 3],
                            fused[f, 0],
                            fused[f, 1],
                            fused[f, 2],
                            fused[f, 3],
                        )
                        if v >= tau:
                            hits += 1
                            col_hits[c] += 1
                            target[b] = c
                            if hits > 1 or col_hits[c] > 1:
                                conflict = True
                    if conflict:
                        break
            if conflict:
                paused[g] = True
                break
            _join_run(g, s, p, q, target, coords, local, sums, counts, fused, ncl, median)
            p = q
        pos[g] = p


# -------------------------------------------------------------------------- clustering (numpy)
def _ranges(lo: I64, hi: I64) -> tuple[I64, I64]:
    """Concatenate ``arange(lo[i], hi[i])``; also return the index ``i`` of each element."""
    lengths = hi - lo
    owner = np.repeat(np.arange(lo.size, dtype=np.int64), lengths)
    first = np.cumsum(lengths) - lengths
    return lo[owner] + (np.arange(owner.size, dtype=np.int64) - first[owner]), owner


def _median_np(slots: I64, groups: I64, starts: I64, coords: F64, local: I64, fused: F64) -> None:
    """Fused box = grouped median of the members of ``slots`` (clusters of ``groups``)."""
    if not slots.size:
        return
    ug = np.unique(groups)
    boxes, owner = _ranges(starts[ug], starts[ug + 1])
    owner_group = ug[owner]
    member_slot = starts[owner_group] + local[boxes]
    wanted = np.zeros(fused.shape[0], dtype=bool)
    wanted[slots] = True
    keep = (local[boxes] >= 0) & wanted[np.maximum(member_slot, 0)]
    boxes, member_slot = boxes[keep], member_slot[keep]
    for d in range(4):
        vals = coords[boxes, d]
        order = np.lexsort((vals, member_slot))
        sv, ss = vals[order], member_slot[order]
        head = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])
        cnt = np.diff(np.r_[head, ss.size])
        fused[ss[head], d] = (sv[head + (cnt - 1) // 2] + sv[head + cnt // 2]) * 0.5


def _join_np(
    boxes: I64,
    grp: I64,
    tgt: I64,
    starts: I64,
    coords: F64,
    local: I64,
    sums: F64,
    counts: I64,
    fused: F64,
    ncl: I64,
    median: bool,
) -> None:
    """Vectorised :func:`_join_run` over several groups (``boxes`` sorted, one run per group)."""
    new = tgt < 0
    newg = grp[new]
    head = np.r_[True, newg[1:] != newg[:-1]] if newg.size else np.zeros(0, dtype=bool)
    run_first = np.maximum.accumulate(np.where(head, np.arange(newg.size), 0))
    tgt = tgt.copy()
    tgt[new] = ncl[newg] + (np.arange(newg.size) - run_first)
    np.add.at(ncl, newg, 1)
    slot = starts[grp] + tgt
    nslot, nbox = slot[new], boxes[new]
    sums[nslot] = coords[nbox]
    fused[nslot] = coords[nbox]
    counts[nslot] = 1
    jslot, jbox = slot[~new], boxes[~new]
    sums[jslot] += coords[jbox]
    counts[jslot] += 1
    local[boxes] = tgt
    if median:
        _median_np(jslot, grp[~new], starts, coords, local, fused)
    else:
        fused[jslot] = sums[jslot] / counts[jslot][:, None]


def _cluster_twin(
    starts: I64,
    run_end: I64,
    coords: F64,
    tau: float,
    median: bool,
    todo: I64,
    pos: I64,
    target: I64,
    has_forced: NDArray[np.bool_],
    local: I64,
    sums: F64,
    counts: I64,
    fused: F64,
    ncl: I64,
    paused: NDArray[np.bool_],
) -> None:
    # One worker run of every active group per stage, all groups at once.
    paused[todo] = False
    forced_groups = todo[has_forced[todo]]
    if forced_groups.size:
        p = pos[forced_groups]
        boxes, owner = _ranges(p, run_end[p])
        _join_np(
            boxes,
            forced_groups[owner],
            target[boxes],
            starts,
            coords,
            local,
            sums,
            counts,
            fused,
            ncl,
            median,
        )
        pos[forced_groups] = run_end[p]
        has_forced[forced_groups] = False
    active = todo
    while True:
        active = active[pos[active] < starts[active + 1]]
        if not active.size:
            return
        p = pos[active]
        q = run_end[p]
        boxes, owner = _ranges(p, q)
        grp = active[owner]
        tgt = np.full(boxes.size, -1, dtype=np.int64)
        m = ncl[grp]
        pair_c, pair_box = _ranges(np.zeros_like(m), m)  # cluster index, position in `boxes`
        pair_slot = starts[grp[pair_box]] + pair_c
        iou = paired_iou(coords[boxes[pair_box]], fused[pair_slot])
        hit = iou >= tau
        hb, hc, hs = pair_box[hit], pair_c[hit], pair_slot[hit]
        box_hits = np.bincount(hb, minlength=boxes.size)
        _, inv, slot_hits = np.unique(hs, return_inverse=True, return_counts=True)
        bad = np.zeros(starts.size - 1, dtype=bool)
        bad[grp[box_hits > 1]] = True
        bad[grp[hb[slot_hits[inv.reshape(-1)] > 1]]] = True
        paused[active[bad[active]]] = True
        tgt[hb] = hc
        keep = ~bad[grp]
        _join_np(
            boxes[keep],
            grp[keep],
            tgt[keep],
            starts,
            coords,
            local,
            sums,
            counts,
            fused,
            ncl,
            median,
        )
        done = ~bad[active]
        pos[active[done]] = q[done]
        active = active[done]


# ------------------------------------------------------------------------- kernels and driver
IOU_MATRIX = Kernel(_iou_matrix_loop, _iou_matrix_twin, helpers=(_iou1,))
PAIRED_IOU = Kernel(_paired_iou_loop, _paired_iou_twin, helpers=(_iou1,))
CLUSTER = Kernel(_cluster_loop, _cluster_twin, helpers=(_iou1, _median_fuse, _join_run))
SEGMENT_SORT = Kernel(_segment_sort_loop, _segment_sort_twin)
_SMALL_SEGMENT = 64  # longer segments are sorted by numpy even on the numba backend
#: Relative slack of the matching threshold. IoUs carry rounding errors of a few ulps (``(left +
#: width) - left`` is not always ``width``; the mean of three copies of a box is not always the
#: box), so the IoU of identical boxes can come out just below 1: a pair matches when
#: ``IoU >= tau * (1 - IOU_SLACK)``, so that ``tau = 1`` merges identical boxes.
IOU_SLACK = 1e-9


def segment_sort(starts: I64, keys: F64, order: I64, backend: Backend) -> None:
    """Sort ``order`` in place, segment by segment, by the rows ``keys[order[i]]``.

    Parameters
    ----------
    starts : ndarray of int64, shape (n_segments + 1,)
        Segment ``s`` is ``order[starts[s]:starts[s + 1]]``; ``starts[0] == 0``,
        ``starts[-1] == order.size``.
    keys : ndarray of float64, shape (n, n_keys)
        Sort keys of each element, column 0 most significant.
    order : ndarray of int64, shape (n,)
        Element indices; each segment is sorted stably (ties keep their current order).
    backend : {"numba", "numpy"}
        Resolved backend; both give the same permutation.

    Examples
    --------
    >>> order = np.arange(4)
    >>> segment_sort(np.array([0, 2, 4]), np.array([[2.0], [1.0], [1.0], [0.0]]), order, "numpy")
    >>> order.tolist()
    [1, 0, 3, 2]
    """
    SEGMENT_SORT(backend, starts, keys, order, _SMALL_SEGMENT)
    if backend == "numba":
        big = np.flatnonzero(np.diff(starts) > _SMALL_SEGMENT)
        for s in big.tolist():
            lo, hi = int(starts[s]), int(starts[s + 1])
            _segment_sort_twin(np.array([lo, hi]), keys, order, 0)


def paired_iou_kernel(a: F64, b: F64, backend: Backend) -> F64:
    """IoU of aligned rows ``a[r]``, ``b[r]`` on ``backend`` (see :func:`paired_iou`)."""
    out = np.empty(a.shape[0], dtype=np.float64)
    PAIRED_IOU(backend, np.ascontiguousarray(a), np.ascontiguousarray(b), out)
    return out


def iou_matrix(a: Any, b: Any, backend: str = "auto") -> F64:
    """Pairwise IoU of two sets of boxes.

    Parameters
    ----------
    a : array_like of shape (n, 4)
        Boxes as ``(left, top, width, height)``.
    b : array_like of shape (m, 4)
        Boxes as ``(left, top, width, height)``.
    backend : {"auto", "numba", "numpy"}, default "auto"
        Implementation to run (both give bitwise identical results).

    Returns
    -------
    ndarray of shape (n, m)
        ``out[i, j]`` = IoU of ``a[i]`` and ``b[j]``, in [0, 1].

    Examples
    --------
    >>> iou_matrix([[10, 10, 40, 40]], [[12, 8, 40, 44], [60, 60, 20, 20]], "numpy").round(4)
    array([[0.8261, 0.    ]])
    """
    aa = np.ascontiguousarray(a, dtype=np.float64).reshape(-1, 4)
    bb = np.ascontiguousarray(b, dtype=np.float64).reshape(-1, 4)
    out = np.empty((aa.shape[0], bb.shape[0]), dtype=np.float64)
    IOU_MATRIX(resolve_backend(backend), aa, bb, out)
    return out


def cluster_boxes(
    starts: I64, run_end: I64, coords: F64, tau: float, median: bool, backend: Backend
) -> tuple[I64, F64, I64, I64]:
    """Cluster canonically ordered boxes, group by group (reference 2.5, step 3).

    Parameters
    ----------
    starts : ndarray of int64, shape (n_groups + 1,)
        Group ``g`` (one image and class) holds boxes ``starts[g]:starts[g + 1]``.
    run_end : ndarray of int64, shape (n_boxes,)
        End (exclusive) of the run of boxes of the same worker that box ``b`` belongs to; within a
        group, runs are in the canonical worker order.
    coords : ndarray of float64, shape (n_boxes, 4)
        ``(left, top, width, height)``.
    tau : float
        IoU threshold (> 0); pairs with ``IoU >= tau * (1 - IOU_SLACK)`` match.
    median : bool
        Fuse by coordinate-wise median instead of mean.
    backend : {"numba", "numpy"}
        Resolved backend.

    Returns
    -------
    local : ndarray of int64, shape (n_boxes,)
        Cluster of each box, numbered within its group in order of creation.
    fused : ndarray of float64, shape (n_boxes, 4)
        Fused box of cluster ``c`` of group ``g`` at row ``starts[g] + c`` (rows beyond the group's
        cluster count are unused).
    counts : ndarray of int64, shape (n_boxes,)
        Members per cluster, same rows as ``fused``.
    n_clusters : ndarray of int64, shape (n_groups,)
        Clusters per group.
    """
    n = coords.shape[0]
    n_groups = starts.size - 1
    tau = float(tau) * (1.0 - IOU_SLACK)
    local = np.full(n, -1, dtype=np.int64)
    sums = np.zeros((n, 4), dtype=np.float64)
    fused = np.zeros((n, 4), dtype=np.float64)
    counts = np.zeros(n, dtype=np.int64)
    ncl = np.zeros(n_groups, dtype=np.int64)
    pos = starts[:-1].copy()
    target = np.full(n, -1, dtype=np.int64)
    has_forced = np.zeros(n_groups, dtype=bool)
    paused = np.zeros(n_groups, dtype=bool)
    kernel = CLUSTER.get(backend)
    pairwise = IOU_MATRIX.get(backend)
    todo = np.arange(n_groups, dtype=np.int64)
    while todo.size:
        kernel(
            starts,
            run_end,
            coords,
            tau,
            bool(median),
            todo,
            pos,
            target,
            has_forced,
            local,
            sums,
            counts,
            fused,
            ncl,
            paused,
        )
        todo = todo[paused[todo]]
        if todo.size:
            # scipy.optimize costs ~0.5 s to import: only when a conflict needs it (cold starts).
            from scipy.optimize import linear_sum_assignment
        for g in todo.tolist():
            # A worker's box has several candidate clusters, or a cluster several candidate boxes:
            # maximum-weight assignment over the pairs with IoU >= tau (weight 0 = forbidden).
            p, s = int(pos[g]), int(starts[g])
            q, m = int(run_end[p]), int(ncl[g])
            iou = np.empty((q - p, m), dtype=np.float64)
            pairwise(coords[p:q], fused[s : s + m], iou)
            rows, cols = linear_sum_assignment(np.where(iou >= tau, iou, 0.0), maximize=True)
            ok = iou[rows, cols] >= tau
            target[p:q] = -1
            target[p + rows[ok]] = cols[ok]
            has_forced[g] = True
    return local, fused, counts, ncl
