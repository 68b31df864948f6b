"""Loading the real crowdsourced data sets of ../shared/datasets for regression tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from consolidation import Annotations
from tests.conftest import dataset_path

BIRD_CLASSES = ["Duck", "Sparrow", "Woodpecker", "Owl", "Parrot",
                "Turkey", "Falcon", "Swan", "Goose", "Canary"]  # fmt: skip


def _parse(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        return value


def load(name: str) -> tuple[Annotations, dict[Any, Any]]:
    """Return the answers of a data set and its gold labels (item id -> label)."""
    folder: Path = dataset_path(name)
    ann = Annotations.from_csv(folder / "answers.csv")
    with open(folder / "gold.csv", newline="") as fh:
        gold = {row["item"]: _parse(row["label"]) for row in csv.DictReader(fh)}
    return ann, gold


def accuracy(item_ids: np.ndarray, labels: np.ndarray, gold: dict[Any, Any]) -> float:
    """Share of gold items whose label is right."""
    pairs = [
        (gold[i], lab)
        for i, lab in zip(item_ids.tolist(), labels.tolist(), strict=True)
        if i in gold
    ]
    return float(np.mean([g == lab for g, lab in pairs]))


def birds_service_labels() -> dict[str, int]:
    """Labels the real Ground Truth service wrote for the birds job, keyed by datasetObjectId."""
    path = dataset_path("groundtruth", "birds-ic-mturk5", "output.manifest")
    with open(path) as fh:
        return {str(i): json.loads(line)["birds-open-images-clone"] for i, line in enumerate(fh)}
