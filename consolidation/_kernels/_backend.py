"""Backend choice and the one jit policy of the package.

Every hot loop is written twice: once as a plain-Python loop that numba compiles (``loop``) and once
as a vectorised numpy function with the same signature (``twin``). :class:`Kernel` pairs the two.
numba is imported on first use only, so importing :mod:`consolidation` stays cheap (a Lambda cold
start pays for numba only when a kernel runs). A missing or failing numba falls back to the numpy
twin with a single warning.

Parallel kernels may be called from several Python threads at once (the settings of
:class:`~consolidation.BayesianDawidSkene` with ``n_jobs``): such threads enter
:func:`serial_kernels`, which gives them the single-threaded builds. numba's ``workqueue``
threading layer (used where no OpenMP or TBB runtime is found) aborts the process when two threads
launch parallel kernels concurrently, and on the other layers each thread would start its own team
on cores the other threads already use. Serial and parallel builds give bit-identical results.
"""

from __future__ import annotations

import threading
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from .._errors import InvalidParameterError

__all__ = [
    "BACKENDS",
    "JIT_OPTIONS",
    "Kernel",
    "numba_available",
    "resolve_backend",
    "serial_kernels",
]

Backend = Literal["numba", "numpy"]
BACKENDS = ("auto", "numba", "numpy")

#: The single jit policy: compiled once per machine and cached on disk (``NUMBA_CACHE_DIR`` moves
#: the cache, e.g. to ``/tmp`` in a Lambda), GIL released, no fastmath so results stay bit-stable.
JIT_OPTIONS: dict[str, Any] = {
    "cache": True,
    "nogil": True,
    "fastmath": False,
    "error_model": "numpy",
}

_numba_ok: bool | None = None
_warned: set[str] = set()  # kinds of environment warnings already given
_local = threading.local()  # .serial: this thread runs the single-threaded builds
_compile_lock = threading.Lock()  # one build of each kernel, even when threads ask at once


@contextmanager
def serial_kernels() -> Iterator[None]:
    """Run every kernel single-threaded in the current thread while the context is open.

    For code that runs kernels from several Python threads at once: see the module docstring.
    Results are unchanged (the serial build of a parallel kernel is the same loop).

    Examples
    --------
    >>> with serial_kernels():
    ...     pass
    """
    before = getattr(_local, "serial", False)
    _local.serial = True
    try:
        yield
    finally:
        _local.serial = before


def _warn_once(kind: str, message: str, stacklevel: int) -> None:
    """Warn about an environment problem of this ``kind`` once per process."""
    if kind not in _warned:
        _warned.add(kind)
        warnings.warn(message, RuntimeWarning, stacklevel=stacklevel + 1)


def _warn_fallback(reason: str) -> None:
    _warn_once(
        "fallback",
        f"numba is unavailable ({reason}); using the pure-numpy backend, which gives the same "
        "results more slowly",
        stacklevel=4,
    )


def _warn_no_cache(reason: str) -> None:
    _warn_once(
        "no cache",
        f"numba cannot cache its compiled kernels here ({reason}); they are compiled on every "
        "start. Set NUMBA_CACHE_DIR to a writable folder (on Lambda: /tmp)",
        stacklevel=5,
    )


def numba_available() -> bool:
    """Return whether numba can be imported (imports it on the first call only)."""
    global _numba_ok
    if _numba_ok is None:
        try:
            import numba  # noqa: F401
        except Exception as exc:  # pragma: no cover - depends on the environment
            _numba_ok = False
            _warn_fallback(f"{type(exc).__name__}: {exc}")
        else:
            _numba_ok = True
    return _numba_ok


def resolve_backend(backend: str) -> Backend:
    """Turn ``"auto"|"numba"|"numpy"`` into the backend that will run.

    Parameters
    ----------
    backend : {"auto", "numba", "numpy"}
        ``"auto"`` and ``"numba"`` use numba when it imports and fall back to numpy otherwise
        (with one warning); ``"numpy"`` never imports numba.

    Returns
    -------
    {"numba", "numpy"}
        The backend that will run.

    Raises
    ------
    InvalidParameterError
        If ``backend`` is not one of the three names.

    Examples
    --------
    >>> resolve_backend("numpy")
    'numpy'
    """
    if backend not in BACKENDS:
        raise InvalidParameterError("backend", backend, "one of 'auto', 'numba', 'numpy'")
    if backend == "numpy":
        return "numpy"
    return "numba" if numba_available() else "numpy"


class Kernel:
    """A numba-compiled loop and its numpy twin, compiled lazily on first use.

    Parameters
    ----------
    loop : callable
        Plain-Python loop written for ``numba.njit``. It must not validate its inputs and must write
        its results into preallocated output arrays.
    twin : callable
        Vectorised numpy function with the same signature and the same results (to 1e-9).
    parallel : bool, default False
        Compile with ``parallel=True``; the loop's module defines ``prange = range`` at module
        level, and ``prange`` is bound to ``numba.prange`` for the compiled copy only.
    helpers : tuple of callables, default ()
        Plain-Python functions the loop calls; they are compiled with the same policy and bound,
        under their names, in the compiled loop's globals.
    inline_helpers : bool, default False
        Inline the helpers into the loop (numba's ``inline="always"``) instead of calling them.
        For small arithmetic helpers called per element: LLVM does not inline a numba function
        it finds too large, and a call per element then costs more than the arithmetic.
        Results are unchanged (no fast-math either way).

    Notes
    -----
    The loop and its helpers are compiled as copies that share the original code objects (so
    numba's on-disk cache finds them) but see a copy of the module's globals: the module itself is
    never modified and numba is not imported until a kernel runs.
    """

    def __init__(
        self,
        loop: Callable[..., Any],
        twin: Callable[..., Any],
        *,
        parallel: bool = False,
        helpers: tuple[Callable[..., Any], ...] = (),
        inline_helpers: bool = False,
    ) -> None:
        self.loop = loop
        self.twin = twin
        self.parallel = parallel
        self.helpers = helpers
        self.inline_helpers = inline_helpers
        self.__name__ = loop.__name__
        self._compiled: dict[bool, Callable[..., Any]] = {}

    def compiled(self, parallel: bool | None = None) -> Callable[..., Any] | None:
        """Return the numba-compiled loop, or None when numba cannot be used.

        Parameters
        ----------
        parallel : bool, optional
            For a parallel kernel, ``False`` gives a single-threaded build of the same loop (for
            small inputs, where starting threads costs more than it saves, and where other
            processes share the cores). Default: the kernel's own setting.
        """
        parallel = self.parallel and (self.parallel if parallel is None else parallel)
        parallel = parallel and not getattr(_local, "serial", False)
        fn = self._compiled.get(parallel)
        if fn is None:
            if not numba_available():
                return None
            with _compile_lock:
                return self._build(parallel)
        return fn

    def _build(self, parallel: bool) -> Callable[..., Any]:
        """Create (once) the dispatcher of the serial or the parallel build; numba compiles it."""
        fn = self._compiled.get(parallel)
        if fn is None:
            import numba

            namespace = dict(self.loop.__globals__)
            if parallel:
                namespace["prange"] = numba.prange
            # A distinct qualname keeps the serial and parallel builds apart in numba's cache.
            suffix = "" if parallel == self.parallel else "__serial"

            def rebind(
                fn: Callable[..., Any], parallel: bool, suffix: str = "", inline: bool = False
            ) -> Any:
                copy = types.FunctionType(
                    fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__
                )
                copy.__module__ = fn.__module__
                copy.__qualname__ = fn.__qualname__ + suffix
                options: dict[str, Any] = {"parallel": parallel, **JIT_OPTIONS}
                if inline:
                    options["inline"] = "always"
                try:
                    return numba.njit(**options)(copy)
                except RuntimeError as exc:  # "cannot cache function ...: no locator available"
                    if "cache" not in str(exc):
                        raise
                    _warn_no_cache(str(exc))
                    return numba.njit(**{**options, "cache": False})(copy)

            for helper in self.helpers:
                namespace[helper.__name__] = rebind(helper, False, inline=self.inline_helpers)
            fn = self._compiled[parallel] = rebind(self.loop, parallel, suffix)
        return fn

    def get(self, backend: Backend, parallel: bool | None = None) -> Callable[..., Any]:
        """Return the implementation for a resolved backend (``"numba"`` or ``"numpy"``)."""
        if backend == "numba":
            fn = self.compiled(parallel)
            if fn is not None:
                return fn
        return self.twin

    def __call__(self, backend: Backend, *args: Any) -> Any:
        """Run the kernel on ``backend`` with ``args`` (parallel builds run multi-threaded)."""
        return self.get(backend)(*args)
