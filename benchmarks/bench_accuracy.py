"""DATASETS table: accuracy of MV, DS, MDS and the default estimator on the real data sets.

Per set: items, workers, answers, K, gold items, accuracy of each method (ties credited ``1/m``),
the default estimator's expected calibration error (on all gold items; after the gold-free
temperature of ``quality.self_temperature``: column ``ECE_self``; then on a random 80% of them
before and after a temperature fitted on the other 20%, averaged over 5 splits: columns
``ECE_80`` and ``ECE_T80``), crowd-kit's MV / DS / OneCoinDawidSkene / MACE / M-MSR when
crowd-kit is installed (not with ``--quick``; MACE takes about 5 minutes over the 22 sets), and
the published numbers of ``benchmarks/published_accuracy.json`` (with their sources). Means over
the sets close the table.

Usage: ``python -m benchmarks.bench_accuracy [--quick] [--sets a,b] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from consolidation import Annotations, DawidSkene, MajorityVote, ModifiedDawidSkene  # noqa: E402
from consolidation.bayesian_ds import default_estimator  # noqa: E402
from consolidation.quality import (  # noqa: E402
    accuracy,
    calibration,
    fit_temperature,
    gold_codes,
    self_temperature,
    temper,
    tie_credit,
)

#: Temperature scaling check: splits, and the share of gold items the temperature is fitted on.
T_SPLITS, T_FIT_SHARE = 5, 0.2


def tempered_ece(est: Any, gold: dict[Any, Any]) -> tuple[float, float]:
    """Mean ECE on held-out gold items before and after a temperature fitted on the rest."""
    rows, codes = gold_codes(est, gold)
    post = np.asarray(est.posteriors_)[rows]
    before, after = [], []
    for seed in range(T_SPLITS):
        fit_rows = np.random.default_rng(seed).random(codes.size) < T_FIT_SHARE
        held = ~fit_rows
        if fit_rows.sum() == 0 or held.sum() == 0:
            continue
        t = fit_temperature(post[fit_rows], codes[fit_rows])
        before.append(calibration(post[held], codes[held]).ece)
        after.append(calibration(temper(post[held], t), codes[held]).ece)
    nan = float("nan")
    return (float(np.mean(before)), float(np.mean(after))) if before else (nan, nan)


SHARED = Path(os.environ.get("GT_SHARED_DIR", REPO.parent / "shared"))
DATASETS = SHARED / "datasets"
SKIP = {"groundtruth", "zheng_n_emotion"}  # not categorical answers with gold
PUBLISHED = Path(__file__).with_name("published_accuracy.json")


def _parse(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        return value


def load(name: str) -> tuple[Annotations, dict[Any, Any]]:
    folder = DATASETS / name
    ann = Annotations.from_csv(folder / "answers.csv")
    with open(folder / "gold.csv", newline="") as fh:
        gold = {row["item"]: _parse(row["label"]) for row in csv.DictReader(fh)}
    return ann, gold


def crowdkit_scores(ann: Annotations, gold: dict[Any, Any]) -> dict[str, float]:
    """crowd-kit's methods, tie-credited like ours (empty when crowd-kit is absent).

    MV, DS and OneCoinDawidSkene; MACE (Hovy et al. 2013: each worker a spammer or not, by
    variational Bayes); M-MSR (Ma & Olshevsky 2020: worker skills from the matrix of their
    agreements), which gives labels only, scored as one-hot posteriors.
    """
    try:
        import pandas as pd
        from crowdkit.aggregation import MACE as CK_MACE
        from crowdkit.aggregation import MMSR as CK_MMSR
        from crowdkit.aggregation import DawidSkene as CkDS
        from crowdkit.aggregation import MajorityVote as CkMV
        from crowdkit.aggregation import OneCoinDawidSkene as CkOC
    except ImportError:
        return {}
    df = pd.DataFrame(
        {
            "task": ann.item_ids[ann.items],
            "worker": ann.worker_ids[ann.workers],
            "label": ann.classes[ann.labels],
        }
    )
    out = {}
    for name, model in (
        ("ck_MV", CkMV()),
        ("ck_DS", CkDS(n_iter=100)),
        ("ck_OneCoin", CkOC(n_iter=100)),
        ("ck_MACE", CK_MACE(random_state=0)),
        ("ck_MMSR", CK_MMSR(random_state=0)),
    ):
        try:
            if hasattr(model, "fit_predict_proba"):
                proba = model.fit_predict_proba(df)
            else:  # labels only: a one-hot posterior per task
                labels = model.fit_predict(df)
                proba = pd.crosstab(labels.index, labels.to_numpy()).astype(float)
        except Exception as exc:  # crowd-kit failures are reported, not fatal
            print(f"  crowd-kit {name} failed: {exc}", file=sys.stderr)
            continue
        proba = proba.reindex(columns=list(ann.classes), fill_value=0.0)
        items = [i for i in proba.index if i in gold]
        index = {c: k for k, c in enumerate(ann.classes.tolist())}
        codes = np.array([index.get(gold[i], -1) for i in items])
        out[name] = float(np.mean(tie_credit(proba.loc[items].to_numpy(float), codes)))
    return out


def run(names: list[str], *, crowdkit: bool) -> list[dict[str, Any]]:
    published = json.loads(PUBLISHED.read_text())["datasets"] if PUBLISHED.exists() else {}
    rows = []
    for name in names:
        ann, gold = load(name)
        row: dict[str, Any] = {
            "dataset": name,
            "items": ann.n_items,
            "workers": ann.n_workers,
            "answers": ann.n_answers,
            "K": ann.n_classes,
        }
        timings = {}
        for method, est in (
            ("MV", MajorityVote(seed=0)),
            ("DS", DawidSkene()),
            ("MDS", ModifiedDawidSkene()),
            ("default", default_estimator()),
        ):
            start = time.perf_counter()
            est.fit(ann)
            timings[method] = time.perf_counter() - start
            row[method] = accuracy(est, gold)
            if method == "default":
                row["gold"] = int(gold_codes(est, gold)[0].size)
                row["ECE_default"] = calibration(est, gold).ece
                rows_, codes = gold_codes(est, gold)
                selfcal = temper(np.asarray(est.posteriors_)[rows_], self_temperature(est))
                row["ECE_self"] = calibration(selfcal, codes).ece
                row["ECE_80"], row["ECE_T80"] = tempered_ece(est, gold)
        row["seconds_default"] = timings["default"]
        if crowdkit:
            row.update(crowdkit_scores(ann, gold))
        pub = published.get(name, {})
        methods = pub.get("methods") or {}
        row["published"] = "; ".join(f"{m} {v}" for m, v in methods.items())
        row["published_source"] = pub.get("source", "")
        rows.append(row)
        print(_line(row), flush=True)
    return rows


COLUMNS: tuple[str, ...] = ("MV", "DS", "MDS", "default", "ECE_default", "ECE_self", "ECE_80")
COLUMNS += ("ECE_T80", "ck_MV", "ck_DS", "ck_OneCoin", "ck_MACE", "ck_MMSR")


def _line(row: dict[str, Any]) -> str:
    cells = [f"{row['dataset']:<29}", f"{row['items']:>6}", f"{row['workers']:>5}"]
    cells += [f"{row['answers']:>7}", f"{row['K']:>2}", f"{row['gold']:>5}"]
    for key in COLUMNS:
        value = row.get(key)
        cells.append(f"{value:>7.4f}" if isinstance(value, float) else f"{'':>7}")
    cells.append(row.get("published", ""))
    return " ".join(cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip crowd-kit's columns")
    parser.add_argument("--sets", help="comma-separated data set names (default: all 22)")
    parser.add_argument("--json", help="write the rows and the means to this JSON file")
    args = parser.parse_args(argv)
    if not DATASETS.exists():
        print(f"no data sets at {DATASETS}; nothing to do", file=sys.stderr)
        rows: list[dict[str, Any]] = []
    else:
        available = sorted(p.name for p in DATASETS.iterdir() if p.is_dir() and p.name not in SKIP)
        names = available if not args.sets else [s.strip() for s in args.sets.split(",")]
        head = "dataset                        items workers answers  K  gold"
        print(
            head
            + "      MV      DS     MDS default ECE_def ECE_slf  ECE_80 ECE_T80   ck_MV   ck_DS"
            + " ck_1coin ck_MACE ck_MMSR"
            + " published"
        )
        rows = run(names, crowdkit=not args.quick)
    means: dict[str, Any] = {"dataset": "mean"}
    for key in COLUMNS:
        values = [r[key] for r in rows if isinstance(r.get(key), float)]
        if values and len(values) == len(rows):
            means[key] = float(np.mean(values))
    if rows:
        worst = min(rows, key=lambda r: r["default"] - r["MV"])
        means["default_minus_MV_worst"] = worst["default"] - worst["MV"]
        means["default_minus_MV_worst_set"] = worst["dataset"]
        print("mean".ljust(60) + " ".join(f"{means[k]:7.4f}" for k in COLUMNS[:8]))
        print(
            f"default - MV, worst set: {means['default_minus_MV_worst']:+.4f} "
            f"({means['default_minus_MV_worst_set']})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "means": means}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
