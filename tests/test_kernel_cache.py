"""A numba that cannot cache (a read-only file system, no NUMBA_CACHE_DIR) still compiles."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from consolidation._kernels import _backend
from consolidation._kernels._backend import Kernel

numba = pytest.importorskip("numba")


def _double_loop(x: np.ndarray, out: np.ndarray) -> None:
    for i in range(x.size):
        out[i] = 2.0 * x[i]


def _double_numpy(x: np.ndarray, out: np.ndarray) -> None:
    np.multiply(x, 2.0, out=out)


def test_no_cache_locator_compiles_without_cache_and_warns_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = numba.njit
    asked: list[bool] = []

    def njit(*args: Any, **options: Any) -> Any:
        if args:  # numba's own uses while compiling
            return real(*args, **options)
        asked.append(options["cache"])
        if options["cache"]:
            raise RuntimeError("cannot cache function '_double_loop': no locator available")
        return real(**options)

    monkeypatch.setattr(numba, "njit", njit)
    monkeypatch.setattr(_backend, "_warned", set())
    kernels = [Kernel(_double_loop, _double_numpy), Kernel(_double_loop, _double_numpy)]
    x = np.arange(5.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for kernel in kernels:
            out = np.empty(5)
            kernel("numba", x, out)
            np.testing.assert_array_equal(out, 2 * x)
    assert asked == [True, False, True, False]  # tried with the cache, then built without it
    messages = [str(w.message) for w in caught if "NUMBA_CACHE_DIR" in str(w.message)]
    assert len(messages) == 1  # one warning, however many kernels


def test_other_compile_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def njit(**options: Any) -> Any:
        raise RuntimeError("something else")

    monkeypatch.setattr(numba, "njit", njit)
    with pytest.raises(RuntimeError, match="something else"):
        Kernel(_double_loop, _double_numpy)("numba", np.arange(2.0), np.empty(2))
