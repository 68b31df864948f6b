"""Import costs that a Lambda cold start depends on: what each package must not load."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("consolidation", ["numba", "scipy", "manifests"]),
        ("consolidation.lambda_handler", ["numba", "scipy"]),
        ("manifests", ["numba", "consolidation", "numpy"]),
    ],
)
def test_import_does_not_load(module: str, forbidden: list[str]) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {forbidden!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
