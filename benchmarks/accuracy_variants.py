"""Accuracy of the default's building blocks and alternatives on the real data sets.

The research behind ``consolidation.default_estimator()``, made repeatable: every variant below is
fitted on each categorical data set of ../shared/datasets and scored against its gold labels (ties
credited ``1/m``, as in ``tests/test_realdata_accuracy.py``). The table ends with the mean over the
sets and each variant's worst gap to majority vote. Add a variant to :data:`VARIANTS` to try an
idea of your own against the same bars (mean >= 0.850, never more than 1 point below MV).

Usage: ``python -m benchmarks.accuracy_variants [--variants a,b] [--sets a,b] [--seeds 0-5]
[--json PATH]``. With ``--seeds``, every variant that has a seed is fitted once per seed; the
table shows the mean over the seeds, and one more line each variant's mean at its worst and best
seed (the default's EBCC restarts draw random subtype splits, so its labels move a little).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.bench_accuracy import DATASETS, SKIP, load  # noqa: E402
from consolidation import (  # noqa: E402
    BayesianDawidSkene,
    DawidSkene,
    MajorityVote,
    ModifiedDawidSkene,
    default_estimator,
)
from consolidation.quality import accuracy  # noqa: E402


def _default_with(**changes: Any) -> Any:
    return default_estimator().set_params(**changes)


#: name -> (factory of a fresh estimator, what it is).
VARIANTS: dict[str, tuple[Callable[[], Any], str]] = {
    "MV": (lambda: MajorityVote(seed=0), "majority vote, ties split"),
    "DS": (DawidSkene, "Dawid-Skene 1979, maximum likelihood"),
    "MDS": (ModifiedDawidSkene, "the AWS Modified Dawid-Skene"),
    "default": (
        default_estimator,
        "EBCC / IBCC 4-1 / IBCC 1-0.1 / IBCC pooled, best evidence bound (pooled pays BIC)",
    ),
    "EBCC": (BayesianDawidSkene, "3 subtypes, 3 restarts, prior 4-1 (no choice)"),
    "IBCC": (lambda: BayesianDawidSkene(n_subtypes=1), "no subtypes, prior 4-1"),
    "IBCC-weak": (
        lambda: BayesianDawidSkene(n_subtypes=1, diag_prior=1.0, off_prior=0.1),
        "no subtypes, prior 1-0.1",
    ),
    "IBCC-pooled": (
        lambda: BayesianDawidSkene(n_subtypes=1, pooled_prior=10.0),
        "no subtypes, pooled prior: 10 pseudo-counts a row, mean learned from the crowd",
    ),
    "EBCC-pooled": (
        lambda: BayesianDawidSkene(pooled_prior=10.0),
        "3 subtypes, every (class, subtype) row's prior mean learned from the crowd",
    ),
    "IBCC-flat": (
        lambda: BayesianDawidSkene(n_subtypes=1, diag_prior=1.0, off_prior=1.0),
        "no subtypes, flat prior 1-1",
    ),
    "default-learned-classes": (
        lambda: _default_with(class_prior=1.0),
        "the default with a learned class prior Dir(1)",
    ),
}


def available_sets() -> list[str]:
    """Names of the categorical data sets with gold labels (empty when ../shared is absent)."""
    if not DATASETS.exists():
        return []
    return sorted(p.name for p in DATASETS.iterdir() if p.is_dir() and p.name not in SKIP)


def run(
    variants: list[str], sets: list[str], seeds: list[int] | None = None
) -> tuple[dict[str, dict[str, float]], dict[str, dict[int, dict[str, float]]]]:
    """Return accuracy[variant][set] (the mean over ``seeds``) and [variant][seed][set].

    Prints one line per set as it goes. A variant without a ``seed`` parameter is fitted once
    and counts for every seed; without ``seeds``, every variant is fitted once, as it is.
    """
    seeds = seeds or []
    scores: dict[str, dict[str, float]] = {v: {} for v in variants}
    by_seed: dict[str, dict[int, dict[str, float]]] = {v: {s: {} for s in seeds} for v in variants}
    print(f"{'data set':<29} " + " ".join(f"{v[:11]:>11}" for v in variants), flush=True)
    for name in sets:
        ann, gold = load(name)
        for variant in variants:
            factory = VARIANTS[variant][0]
            if not seeds or "seed" not in factory().get_params():
                scores[variant][name] = accuracy(factory().fit(ann), gold)
                for seed in seeds:
                    by_seed[variant][seed][name] = scores[variant][name]
                continue
            for seed in seeds:
                est = factory().set_params(seed=seed)
                by_seed[variant][seed][name] = accuracy(est.fit(ann), gold)
            scores[variant][name] = float(np.mean([by_seed[variant][s][name] for s in seeds]))
        print(f"{name:<29} " + " ".join(f"{scores[v][name]:>11.4f}" for v in variants), flush=True)
    return scores, by_seed


def parse_seeds(text: str) -> list[int]:
    """``"0-5"`` or ``"0,3,7"`` (or a mix) as a sorted list of distinct seeds.

    Examples
    --------
    >>> parse_seeds("0-2,7")
    [0, 1, 2, 7]
    """
    seeds: set[int] = set()
    for part in text.split(","):
        low, sep, high = part.strip().partition("-")
        first = int(low)
        seeds.update(range(first, int(high) + 1) if sep else [first])
    if any(s < 0 for s in seeds):
        raise ValueError("seeds must be >= 0")
    return sorted(seeds)


def summary(scores: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """Per variant: mean accuracy, and the worst gap to MV with its data set (MV must be run)."""
    out: dict[str, dict[str, Any]] = {}
    mv = scores.get("MV")
    for variant, by_set in scores.items():
        row: dict[str, Any] = {"mean": float(np.mean(list(by_set.values())))}
        if mv is not None:
            worst = min(by_set, key=lambda s: by_set[s] - mv[s])
            row["worst_vs_MV"] = by_set[worst] - mv[worst]
            row["worst_set"] = worst
        out[variant] = row
    return out


def oracle(scores: dict[str, dict[str, float]]) -> float:
    """Mean over the sets of the best accuracy any variant reached (a choice made with gold)."""
    sets = next(iter(scores.values()))
    return float(np.mean([max(by_set[s] for by_set in scores.values()) for s in sets]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants", help="comma-separated, from: " + ", ".join(VARIANTS) + " (default: all)"
    )
    parser.add_argument("--sets", help="comma-separated data set names (default: all 22)")
    parser.add_argument(
        "--seeds", help="fit every seeded variant once per seed: 0-5 or 0,1,2 (default: its own)"
    )
    parser.add_argument("--json", help="write the scores and the summary to this JSON file")
    args = parser.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds) if args.seeds else []
    except ValueError:
        parser.error(
            f"--seeds: expected a range such as 0-5 or a list such as 0,1,2, not {args.seeds!r}"
        )
    variants = list(VARIANTS) if not args.variants else args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if "MV" not in variants:
        variants.insert(0, "MV")  # the bar every variant is held to
    sets = available_sets() if not args.sets else args.sets.split(",")
    if not sets:
        print(f"no data sets at {DATASETS}; nothing to do", file=sys.stderr)
        return 0
    start = time.perf_counter()
    scores, by_seed = run(variants, sets, seeds)
    table = summary(scores)
    for label, key, fmt in (("mean", "mean", ">11.4f"), ("worst vs MV", "worst_vs_MV", ">+11.4f")):
        print(f"{label:<29} " + " ".join(f"{table[v][key]:{fmt}}" for v in variants))
    if seeds:
        print(f"mean over {len(seeds)} seeds ({args.seeds}); per seed, for the seeded variants:")
        mv = scores["MV"]
        for v in variants:
            means = [float(np.mean(list(by_seed[v][s].values()))) for s in seeds]
            gap = round(min(by_seed[v][s][n] - mv[n] for s in seeds for n in sets), 10) + 0.0
            worst, top = int(np.argmin(means)), int(np.argmax(means))
            print(
                f"  {v}: mean {means[worst]:.4f} (seed {seeds[worst]}) to {means[top]:.4f} "
                f"(seed {seeds[top]}); worst vs MV at any seed {gap:+.4f}"
            )
    best = oracle(scores)
    print(f"best variant per set (chosen with gold, so not a method): mean {best:.4f}")
    print(f"{len(sets)} sets in {time.perf_counter() - start:.0f} s")
    for variant in variants:
        print(f"  {variant}: {VARIANTS[variant][1]}")
    if args.json:
        doc: dict[str, Any] = {"scores": scores, "summary": table, "best_per_set_mean": best}
        if seeds:
            doc["by_seed"] = {v: {str(s): by_seed[v][s] for s in seeds} for v in variants}
        Path(args.json).write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
