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


def test_lambda_runs_without_numba() -> None:
    # A zip-deployed Lambda may ship without numba/llvmlite: the numpy twins give the results.
    code = """
import sys, warnings, json, gzip
from importlib import resources
sys.modules["numba"] = None  # any `import numba` now raises ImportError
from consolidation.lambda_handler import Settings, handler
birds = resources.files("consolidation") / "data" / "birds"
batch = birds / "consolidation-request-iteration-1.json.gz"
payload = json.loads(gzip.decompress(batch.read_bytes()))
event = {"labelAttributeName": "birds", "payload": payload,
         "labelCategories": json.loads((birds / "classes.json").read_text())}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out = handler(event, None, settings=Settings(method="mds"))
print(len(out), sum("numba is unavailable" in str(w.message) for w in caught))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["10", "1"]
