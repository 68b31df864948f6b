"""Shared fixtures: the location of ../shared/datasets, skipping cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
# A user's clone has no ../shared; GT_SHARED_DIR points elsewhere when wanted.
SHARED = Path(os.environ.get("GT_SHARED_DIR", REPO.parent / "shared"))
DATASETS = SHARED / "datasets"
GROUNDTRUTH = DATASETS / "groundtruth"

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# A longer hunt for edge cases, run by hand: HYPOTHESIS_PROFILE=deep python -m pytest
settings.register_profile(
    "deep", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def dataset_path(*parts: str) -> Path:
    """Return a path under ``../shared/datasets``, skipping the test when it is absent."""
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture
def datasets_dir() -> Path:
    """``../shared/datasets`` (the test is skipped when it is absent)."""
    return dataset_path()


@pytest.fixture
def groundtruth_dir() -> Path:
    """``../shared/datasets/groundtruth`` (the test is skipped when it is absent)."""
    return dataset_path("groundtruth")
