"""Per-worker soft counts that carry what EM learned about workers from one batch to the next.

Ground Truth consolidates a labeling job batch by batch (a probe batch of 10 objects, then larger
ones). Persisting the raw soft confusion counts -- not the normalised matrices -- lets a later batch
add its own counts to them, so a worker's estimate keeps improving across batches (reference
section 1.7). Unseen workers start from the prior.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._errors import AnnotationError, InvalidParameterError

__all__ = ["WorkerState"]

_FORMAT = "gt-consolidation/worker-state"
_VERSION = 1


_SAVABLE = "a string, an integer, a finite number or a boolean"


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars into Python ones so ids survive a JSON round trip with their type."""
    return value.item() if isinstance(value, np.generic) else value


def _savable(value: Any) -> bool:
    """Whether a class or worker id survives a JSON round trip as itself (type included)."""
    kind = type(value)
    return kind in (str, int, bool) or (kind is float and math.isfinite(value))


@dataclass(eq=False)
class WorkerState:
    """Soft confusion counts per worker, answer counts, class counts and population accuracy.

    Parameters
    ----------
    classes : sequence
        Class values; counts are indexed in this order.
    worker_ids : sequence
        One id per worker. Ids and classes that are strings, integers, finite floats or booleans
        survive :meth:`save` / :meth:`load` with their type; :meth:`save` refuses any other
        (a tuple, None), naming it, before it writes anything.
    counts : ndarray of shape (n_workers, K, K)
        ``counts[w, t, l]`` = expected number of times worker ``w`` answered ``l`` on items of true
        class ``t`` (rows = true class, as in ``confusions_``).
    n_answers : ndarray of shape (n_workers,)
        Number of answers behind each worker's counts.
    class_counts : ndarray of shape (K,)
        Sum of item posteriors per class (the evidence behind the class prior).
    population_accuracy : float
        Mean estimated worker accuracy. ModifiedDawidSkene starts from it as the population
        accuracy that every worker is shrunk toward (unseen workers still start from
        ``initial_accuracy``, as reference section 1.7 recommends); DawidSkene's first E-step
        gives unseen workers one-coin matrices of this accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> a = WorkerState(["no", "yes"], ["w1"], np.array([[[3.0, 1.0], [0.0, 2.0]]]),
    ...                 np.array([6]), np.array([4.0, 2.0]), 0.83)
    >>> b = WorkerState(["no", "yes"], ["w2"], np.array([[[1.0, 0.0], [0.0, 1.0]]]),
    ...                 np.array([2]), np.array([1.0, 1.0]), 1.0)
    >>> merged = a.merge(b)
    >>> merged.worker_ids, merged.n_answers.tolist()
    (['w1', 'w2'], [6, 2])
    """

    classes: list[Any]
    worker_ids: list[Any]
    counts: NDArray[np.float64]
    n_answers: NDArray[np.int64]
    class_counts: NDArray[np.float64]
    population_accuracy: float
    _index: dict[Any, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.classes = [_jsonable(c) for c in self.classes]
        self.worker_ids = [_jsonable(w) for w in self.worker_ids]
        self.counts = np.asarray(self.counts, dtype=np.float64)
        self.n_answers = np.asarray(self.n_answers, dtype=np.int64)
        self.class_counts = np.asarray(self.class_counts, dtype=np.float64)
        self.population_accuracy = float(self.population_accuracy)
        k, w = len(self.classes), len(self.worker_ids)
        if self.counts.shape != (w, k, k) or self.n_answers.shape != (w,):
            raise AnnotationError(
                f"worker state shapes disagree: counts {self.counts.shape}, n_answers "
                f"{self.n_answers.shape}, {w} workers, {k} classes"
            )
        if self.class_counts.shape != (k,):
            raise AnnotationError(f"class_counts must have shape ({k},)")
        if not (np.all(np.isfinite(self.counts)) and np.all(self.counts >= 0)):
            w_bad = int(np.argwhere(~(np.isfinite(self.counts) & (self.counts >= 0)))[0][0])
            raise AnnotationError(
                f"worker {self.worker_ids[w_bad]!r}: counts must be finite and non-negative"
            )
        if np.any(self.n_answers < 0):
            w_bad = int(np.flatnonzero(self.n_answers < 0)[0])
            raise AnnotationError(
                f"worker {self.worker_ids[w_bad]!r}: n_answers {int(self.n_answers[w_bad])} "
                "is negative"
            )
        if not (np.all(np.isfinite(self.class_counts)) and np.all(self.class_counts >= 0)):
            raise AnnotationError("class_counts must be finite and non-negative")
        if not 0.0 <= self.population_accuracy <= 1.0:
            raise AnnotationError(
                f"population_accuracy must be in [0, 1], got {self.population_accuracy!r}"
            )
        self._index = {wid: i for i, wid in enumerate(self.worker_ids)}
        if len(self._index) != w:
            raise AnnotationError("worker ids in a worker state must be distinct")

    @property
    def n_workers(self) -> int:
        """Number of workers held."""
        return len(self.worker_ids)

    @classmethod
    def empty(cls, classes: Sequence[Any], population_accuracy: float = 0.7) -> WorkerState:
        """Return a state with no workers.

        Examples
        --------
        >>> WorkerState.empty(["a", "b"]).n_workers
        0
        """
        k = len(classes)
        return cls(
            list(classes),
            [],
            np.zeros((0, k, k)),
            np.zeros(0, np.int64),
            np.zeros(k),
            population_accuracy,
        )

    def lookup(self, worker_ids: Sequence[Any]) -> NDArray[np.intp]:
        """Return each worker's row in this state, or -1 for workers it has not seen."""
        return np.array([self._index.get(_jsonable(w), -1) for w in worker_ids], dtype=np.intp)

    def check_classes(self, classes: Sequence[Any]) -> None:
        """Raise :class:`AnnotationError` unless ``classes`` equals this state's classes."""
        given = [_jsonable(c) for c in classes]
        if given != self.classes:
            raise AnnotationError(
                f"worker state was learned for classes {self.classes!r}, not {given!r}"
            )

    def merge(self, other: WorkerState) -> WorkerState:
        """Add another state's counts to this one's (workers are matched by id).

        The population accuracy becomes the answer-weighted mean of the two.

        Raises
        ------
        InvalidParameterError
            When ``other`` is not a :class:`WorkerState`.
        AnnotationError
            When the two states have different classes.
        """
        if not isinstance(other, WorkerState):
            raise InvalidParameterError("other", other, "a WorkerState")
        self.check_classes(other.classes)
        rows = self.lookup(other.worker_ids)
        new = rows < 0
        ids = self.worker_ids + [
            w for w, is_new in zip(other.worker_ids, new, strict=True) if is_new
        ]
        counts = np.concatenate([self.counts, other.counts[new]])
        n = np.concatenate([self.n_answers, other.n_answers[new]])
        old = np.flatnonzero(~new)
        counts[rows[old]] += other.counts[old]
        n[rows[old]] += other.n_answers[old]
        total_a, total_b = float(self.n_answers.sum()), float(other.n_answers.sum())
        if total_a + total_b > 0:
            acc = (self.population_accuracy * total_a + other.population_accuracy * total_b) / (
                total_a + total_b
            )
        else:
            acc = other.population_accuracy
        return WorkerState(
            self.classes, ids, counts, n, self.class_counts + other.class_counts, acc
        )

    def accuracies(self) -> NDArray[np.float64]:
        """Soft accuracy per worker: the share of its answers that match the estimated truth."""
        diag = np.trace(self.counts, axis1=1, axis2=2)
        acc: NDArray[np.float64] = diag / np.maximum(self.counts.sum(axis=(1, 2)), 1e-300)
        return acc

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (see :meth:`save`).

        Raises
        ------
        AnnotationError
            When a class or a worker id could not be read back as itself: one that is not a
            string, an integer, a finite float or a boolean (a tuple, None, NaN).

        Examples
        --------
        >>> import numpy as np
        >>> state = WorkerState.empty([False, True])
        >>> WorkerState.from_dict(state.to_dict()).classes
        [False, True]
        >>> WorkerState([0, 1], [("a", 1)], np.ones((1, 2, 2)), [4], [2.0, 2.0], 0.5).to_dict()
        Traceback (most recent call last):
        ...
        consolidation._errors.AnnotationError: worker ('a', 1) cannot be saved: its id is a \
        tuple; a saved worker state holds classes and worker ids that are a string, an integer, \
        a finite number or a boolean
        """
        for c in self.classes:
            if not _savable(c):
                raise AnnotationError(f"class {c!r} cannot be saved: {_why(c)}")
        for wid in self.worker_ids:
            if not _savable(wid):
                raise AnnotationError(f"worker {wid!r} cannot be saved: {_why(wid, 'its id')}")
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "classes": self.classes,
            "population_accuracy": self.population_accuracy,
            "class_counts": self.class_counts.tolist(),
            "workers": [
                {"id": wid, "n_answers": int(n), "counts": c.tolist()}
                for wid, n, c in zip(self.worker_ids, self.n_answers, self.counts, strict=True)
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> WorkerState:
        """Build a state from :meth:`to_dict` output.

        Raises
        ------
        AnnotationError
            When ``data`` is not a worker state: not a JSON object, a field missing or of the
            wrong type, counts of the wrong shape, negative or not finite; the message names the
            field and, for a worker's field, the worker.

        Examples
        --------
        >>> WorkerState.from_dict({"format": "gt-consolidation/worker-state", "version": 1})
        Traceback (most recent call last):
        ...
        consolidation._errors.AnnotationError: classes: missing
        """
        if not isinstance(data, dict):
            raise AnnotationError(f"a worker state is a JSON object, not {_json_type(data)}")
        if data.get("format") != _FORMAT:
            raise AnnotationError(f"not a worker state (format {data.get('format')!r})")
        if data.get("version") != _VERSION:
            raise AnnotationError(f"unsupported worker state version {data.get('version')!r}")
        classes = _field(data, "classes", list)
        for k, c in enumerate(classes):
            if not _savable(c):
                raise AnnotationError(f"classes[{k}]: expected {_SAVABLE}, got {c!r}")
        k = len(classes)
        workers = _field(data, "workers", list)
        ids: list[Any] = []
        n_answers: list[int] = []
        counts = np.zeros((len(workers), k, k), dtype=np.float64)
        for i, worker in enumerate(workers):
            if not isinstance(worker, dict):
                raise AnnotationError(f"workers[{i}]: expected an object, got {_json_type(worker)}")
            wid = worker.get("id")
            where = f"workers[{i}]" if wid is None else f"workers[{i}] (id {wid!r})"
            if not _savable(wid):
                raise AnnotationError(
                    f"{where}: id: " + ("missing" if "id" not in worker else f"expected {_SAVABLE}")
                )
            ids.append(wid)
            n = _field(worker, "n_answers", int, where)
            if n < 0:
                raise AnnotationError(f"{where}: n_answers: {n} is negative")
            n_answers.append(n)
            counts[i] = _numbers(_field(worker, "counts", list, where), (k, k), f"{where}: counts")
        class_counts = _numbers(_field(data, "class_counts", list), (k,), "class_counts")
        accuracy: Any = data.get("population_accuracy")
        if type(accuracy) not in (int, float) or not 0.0 <= accuracy <= 1.0:
            raise AnnotationError(
                "population_accuracy: "
                + (
                    "missing"
                    if "population_accuracy" not in data
                    else f"expected a number in [0, 1], got {accuracy!r}"
                )
            )
        return cls(classes, ids, counts, np.array(n_answers, np.int64), class_counts, accuracy)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state as JSON: to a temporary file of its own, then renamed into place.

        Writers never share a temporary file, so two processes saving to one path at once leave
        one complete state or the other (the last rename wins), never a mixture of both. The
        file is replaced as if rewritten in place: an existing file keeps its permission bits, a
        new one gets those of the umask, and a symbolic link stays a link to the new state
        (see :func:`manifests._writing.open_output`, which also serves the manifest writer).

        Raises
        ------
        AnnotationError
            Before anything is written, when a class or worker id could not be loaded back as
            itself (see :meth:`to_dict`).
        """
        # imported here: importing consolidation must not load manifests
        from manifests._writing import open_output

        data = json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False).encode("utf-8")
        fh, finish = open_output(path)
        try:
            fh.write(data)
        except BaseException:
            finish(False)
            raise
        finish(True)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> WorkerState:
        """Read a state written by :meth:`save`."""
        with open(path, "rb") as fh:
            raw = fh.read()
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise AnnotationError(
                f"{os.fspath(path)}: not UTF-8 (invalid byte 0x{raw[exc.start]:02x} "
                f"at byte {exc.start + 1})"
            ) from exc
        except ValueError as exc:
            raise AnnotationError(f"{os.fspath(path)}: not valid JSON: {exc}") from exc
        try:
            return cls.from_dict(data)
        except AnnotationError as exc:
            raise AnnotationError(f"{os.fspath(path)}: malformed worker state: {exc}") from exc


def _why(value: Any, what: str = "it") -> str:
    """Say why a class or worker id cannot be saved, and which can."""
    kind = "a non-finite number" if isinstance(value, float) else f"a {type(value).__name__}"
    return (
        f"{what} is {kind}; a saved worker state holds classes and worker ids that are {_SAVABLE}"
    )


def _json_type(value: Any) -> str:
    """Return the name of the JSON type of a decoded value, for messages."""
    for kind, name in (
        (bool, "a boolean"),
        (dict, "an object"),
        (list, "an array"),
        (str, "a string"),
    ):
        if isinstance(value, kind):
            return name
    return "null" if value is None else "a number"


def _field(data: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
    """Return ``data[key]``, checked to be of JSON type ``kind`` (list or int; not a boolean)."""
    prefix = f"{where}: " if where else ""
    if key not in data:
        raise AnnotationError(f"{prefix}{key}: missing")
    value = data[key]
    if type(value) is not kind:
        expected = "an array" if kind is list else "an integer"
        raise AnnotationError(f"{prefix}{key}: expected {expected}, got {_json_type(value)}")
    return value


def _numbers(value: list[Any], shape: tuple[int, ...], what: str) -> NDArray[np.float64]:
    """Check a nested list of finite, non-negative numbers of the given shape; return an array."""
    rows = value if len(shape) == 2 else [value]
    width = shape[-1]
    if len(shape) == 2 and len(rows) != shape[0]:
        raise AnnotationError(f"{what}: expected {shape[0]} rows (one per class), got {len(rows)}")
    for r, row in enumerate(rows):
        name = f"{what}[{r}]" if len(shape) == 2 else what
        if type(row) is not list or len(row) != width:
            got = str(len(row)) if type(row) is list else _json_type(row)
            raise AnnotationError(f"{name}: expected {width} numbers (one per class), got {got}")
        for c, x in enumerate(row):
            if type(x) not in (int, float) or not math.isfinite(x) or x < 0:
                raise AnnotationError(
                    f"{name}[{c}]: expected a finite, non-negative number, got {x!r}"
                )
    return np.array(value, dtype=np.float64).reshape(shape)
