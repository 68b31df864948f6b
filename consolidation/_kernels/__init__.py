"""Hot loops as numba kernels with pure-numpy twins; backend choice and the one jit policy."""

from ._backend import BACKENDS, JIT_OPTIONS, Kernel, numba_available, resolve_backend

__all__ = ["BACKENDS", "JIT_OPTIONS", "Kernel", "numba_available", "resolve_backend"]
