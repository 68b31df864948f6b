"""The benchmark suite: its report from synthetic results (no timings asserted) and a real run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import __main__ as suite
from benchmarks import _parts, _plots, _report, _targets
from benchmarks._records import find, records

REPO = Path(__file__).resolve().parents[1]


def _row(method: str, backend: str, seconds: float, n_iter: int | None = 10) -> dict[str, Any]:
    return {
        "method": method,
        "backend": backend,
        "n_answers": 1_000_000,
        "k": 5,
        "seconds": seconds,
        "n_iter": n_iter,
        "per_iter": seconds / n_iter if n_iter else None,
        "peak_bytes": 300 * 2**20,
        "extra_bytes_per_answer": 30.0,
        "accuracy": 0.97,
    }


def _results() -> dict[str, Any]:
    classification = [
        _row("minimal", "numba", 0.01, 1),
        _row("ds", "numba", 1.0),  # 100x crowd-kit: met
        _row("mds", "numba", 4.0),  # 25x crowd-kit: not met
        _row("ck-ds", "-", 100.0),
        _row("default", "numba", 20.0, None),
        _row("default-1job", "numba", 30.0, None),
        {"method": "ck-onecoin", "backend": "-", "error": "Traceback: boom"},
    ]
    boxes = {
        "images": 1000,
        "boxes": 23480,
        "workers": 5,
        "encode_s": 0.01,
        "BoxConsolidator[numba]": {
            "seconds": 0.01,
            "images_per_s": 100_000.0,
            "mean_iou": 0.92,
            "precision": 0.63,
            "recall": 1.0,
            "boxes": 7887,
        },
        "single_worker_mean_iou": 0.72,
        "single_worker_best_iou": 0.86,
    }
    manifests = {
        "rows": [
            {"lines": 10_000, "variant": "filter", "lines_per_s": 250_000.0, "peak_rss_mib": 30.0},
            {"lines": 100_000, "variant": "filter", "lines_per_s": 260_000.0, "peak_rss_mib": 31.0},
            {"lines": 100_000, "variant": "drop-classes", "lines_per_s": 90_000.0},
        ]
    }
    coldstart = [
        {
            "case": "mds numpy",
            "import_s": 0.5,
            "first_fit_s": 0.01,
            "total_s": 0.51,
            "process_s": 0.6,
            "peak_rss_bytes": 80 * 2**20,
            "numba_after_fit": False,
            "after_import": {"numba": False, "scipy": True, "pandas": False},
        },
    ]
    ok = {"status": "ok", "reason": "", "command": "x"}
    return {
        "date": "2025-01-01 00:00 UTC",
        "command": "python -m benchmarks --quick",
        "mode": "quick",
        "seconds": 12.0,
        "load_end": [0.1, 0.1, 0.1],
        "machine": {
            "cpu": "Test CPU",
            "cores": 2,
            "usable_cores": 2,
            "memory_gib": 8.0,
            "load_start": [0.1, 0.1, 0.1],
            "os": "Linux",
            "python": "CPython 3.11",
            "git": "abc",
            "versions": {
                "numpy": "2.0",
                "crowd-kit": None,
                "ensemble-boxes": None,
                "matplotlib": "3.9",
            },
            "env": {"NUMBA_NUM_THREADS": "2"},
        },
        "parts": {
            "classification": {**ok, "data": classification},
            "accuracy": {"status": "not run", "reason": "no bench_accuracy.py", "data": None},
            "boxes": {**ok, "data": boxes},
            "manifests": {**ok, "data": manifests},
            "coldstart": {**ok, "data": coldstart},
        },
    }


def test_report_has_every_section_and_notes_missing_peers() -> None:
    md = _report.render(_results(), {"boxes": "benchmark-results/boxes.png"})
    for heading in (
        "# Benchmarks",
        "## Machine and versions",
        "## Targets",
        "## Notes",
        "## Classification speed",
        "### K = 5",
        "## Accuracy on real data sets",
        "## Bounding boxes",
        "## Manifests throughput",
        "## Lambda cold start",
    ):
        assert f"\n{heading}\n" in f"\n{md}", heading
    assert "python -m benchmarks --quick" in md
    assert "| CPU | Test CPU |" in md
    assert "`NUMBA_NUM_THREADS=2`" in md
    assert "| crowd-kit | not installed |" in md
    assert "- crowd-kit is not installed" in md
    assert "- ensemble-boxes is not installed" in md
    assert "_Not run: no bench_accuracy.py_" in md
    assert "_ensemble-boxes did not run: no ratio._" in md
    assert "![Bounding boxes](benchmark-results/boxes.png)" in md
    assert "ck-onecoin [-]: `Traceback: boom`" in md
    # The ratio column is against the baseline of the same run: 100 s / 1 s.
    assert "| DS (ours) | numba |" in md
    assert "100.0x |" in md
    assert "| target | measured | status |" in md
    # The default's threads against its own sequential fit, same run: 30 s / 20 s.
    assert "| default, n_jobs=1 (ours) | numba |" in md
    assert "takes 1.50x at 1,000,000 answers as long" in md


def test_targets_say_met_not_met_and_not_measured() -> None:
    checks = {
        t.split(" (")[0].split(",")[0]: (m, s) for t, m, s in _targets.evaluate(_results()["parts"])
    }
    speed = next(v for k, v in checks.items() if k.startswith("DS and MDS"))
    assert speed == ("DS 100.0x, MDS 25.0x", "NOT MET")
    assert checks["<= 40 extra bytes per answer during fit"][1] == "met"
    assert checks["1e7 answers fit in < 5 s"][1] == "not measured"
    assert checks["boxes: BoxConsolidator"][1] == "not measured"  # no ensemble-boxes
    assert checks["manifests filter >= 200k lines/s"] == ("260,000 lines/s", "met")
    assert checks["manifests drop-classes >= 100k lines/s"][1] == "NOT MET"
    assert checks["manifests filter streams in flat memory"][1] == "met"
    for target in (
        "accuracy: mean of the default over the real data sets >= 0.850",
        "accuracy: the default never more than 1 point below MV on a real data set",
    ):
        assert checks[target] == ("-", "not measured")
    assert checks["cold start: `import consolidation` does not import numba"][1] == "met"


def test_targets_at_a_smaller_size_are_indicative_only() -> None:
    results = _results()
    for row in results["parts"]["classification"]["data"]:
        row["n_answers"] = 100_000
    (check,) = [c for c in _targets.evaluate(results["parts"]) if c[0].startswith("DS and MDS")]
    assert check[1] == "DS 100.0x, MDS 25.0x at 100,000 answers (indicative)"
    assert check[2] == "not measured"


def test_records_accept_the_usual_json_shapes() -> None:
    assert records([{"a": 1, "b": {"c": 2}}]) == [{"a": 1, "b.c": 2}]
    assert records({"meta": 1, "rows": [{"a": 1}]}) == [{"a": 1}]
    assert records({"x": {"a": 1}}) == [{"name": "x", "a": 1}]
    assert records("nonsense") == []
    assert find({"MV_accuracy": 0.9}, "mv accuracy") == 0.9


def test_unexpected_json_is_shown_raw_not_a_crash() -> None:
    results = _results()
    results["parts"]["boxes"]["data"] = {"BoxConsolidator[numba]": {"speed": 1.0}}
    md = _report.render(results, {})
    assert "_Unexpected JSON shape (KeyError" in md


def test_plots_are_skipped_with_a_note_without_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    drawn, note = _plots.draw(_results()["parts"], tmp_path)
    assert drawn == {}
    assert note is not None
    assert "matplotlib is not installed" in note


def test_write_saves_results_and_report(tmp_path: Path) -> None:
    report, _ = suite.write(_results(), tmp_path)
    assert report == tmp_path / "BENCHMARKS.md"
    saved = json.loads((tmp_path / "benchmark-results" / "results.json").read_text())
    assert saved["parts"]["boxes"]["data"]["images"] == 1000
    assert "## Targets" in report.read_text()


def test_quick_coldstart_runs_and_writes_the_report(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "coldstart", "--out", tmp_path],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    md = (tmp_path / "BENCHMARKS.md").read_text()
    assert "## Lambda cold start" in md
    assert "| mds numba, cold cache |" in md
    assert "## Classification speed" not in md


FAKE_BENCH = """
import argparse, json, sys
parser = argparse.ArgumentParser()
parser.add_argument("--lines", type=int)
{json_option}
args = parser.parse_args()
if args.lines == 13:
    raise RuntimeError("boom")
if {json_present}:
    open(args.json, "w").write(json.dumps([{{"variant": "filter", "lines": args.lines}}]))
"""


@pytest.mark.parametrize(
    ("json_option", "lines", "status", "reason"),
    [
        ('parser.add_argument("--json")', "10", "ok", ""),
        ('parser.add_argument("--json")', "13", "failed", "RuntimeError: boom"),
        ("", "10", "not run", "has no --json option"),
    ],
)
def test_benchmark_modules_run_as_subprocesses(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    json_option: str,
    lines: str,
    status: str,
    reason: str,
) -> None:
    package = tmp_path / "benchmarks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    code = FAKE_BENCH.format(json_option=json_option, json_present=bool(json_option))
    (package / "bench_fake.py").write_text(code)
    monkeypatch.setattr(_parts, "REPO", tmp_path)
    got = _parts.run_module("bench_fake", [("--lines", lines), ("--unknown", "1")], timeout=60)
    assert got["status"] == status
    assert reason in got["reason"]
    if status == "ok":
        assert got["data"] == [{"variant": "filter", "lines": 10}]
        assert "--unknown" not in got["command"]  # options the module lacks are left out
    assert _parts.run_module("bench_missing", [], timeout=60)["status"] == "not run"


def test_accuracy_variants_summary_and_oracle_from_known_scores() -> None:
    from benchmarks import accuracy_variants as av

    scores = {
        "MV": {"a": 0.80, "b": 0.60},
        "X": {"a": 0.90, "b": 0.55},
        "Y": {"a": 0.70, "b": 0.70},
    }
    table = av.summary(scores)
    assert table["X"]["mean"] == pytest.approx(0.725)
    assert table["X"]["worst_vs_MV"] == pytest.approx(-0.05)
    assert table["X"]["worst_set"] == "b"
    assert table["Y"]["worst_set"] == "a"
    assert table["MV"]["worst_vs_MV"] == 0.0
    assert av.oracle(scores) == pytest.approx((0.90 + 0.70) / 2)


def test_accuracy_variants_rejects_unknown_names() -> None:
    from benchmarks import accuracy_variants as av

    with pytest.raises(SystemExit) as exc:
        av.main(["--variants", "IBCC,nope"])
    assert exc.value.code == 2


def test_accuracy_variants_on_a_real_set(
    datasets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import accuracy_variants as av
    from tests.test_realdata_accuracy import PINNED

    out = tmp_path / "variants.json"
    assert av.main(["--variants", "DS,default", "--sets", "snow_temp", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert set(doc["scores"]) == {"MV", "DS", "default"}  # MV is always added: it is the bar
    mv, ds, _, default = PINNED["snow_temp"]
    assert doc["scores"]["MV"]["snow_temp"] == pytest.approx(mv, abs=0.003)
    assert doc["scores"]["DS"]["snow_temp"] == pytest.approx(ds, abs=0.003)
    assert doc["scores"]["default"]["snow_temp"] == pytest.approx(default, abs=0.003)
    assert "worst vs MV" in capsys.readouterr().out


def test_accuracy_variants_parses_seed_lists_and_rejects_bad_ones() -> None:
    from benchmarks import accuracy_variants as av

    assert av.parse_seeds("0-2,7") == [0, 1, 2, 7]
    assert av.parse_seeds("3, 1,1") == [1, 3]
    for bad in ("x", "2-", "-1"):
        with pytest.raises(SystemExit) as exc:
            av.main(["--seeds", bad])
        assert exc.value.code == 2


def test_accuracy_variants_over_seeds_on_a_real_set(
    datasets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import accuracy_variants as av

    out = tmp_path / "variants.json"
    argv = ["--variants", "default", "--sets", "welinder_bluebird", "--seeds", "0-3"]
    assert av.main([*argv, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    per_seed = [doc["by_seed"]["default"][s]["welinder_bluebird"] for s in "0123"]
    # EBCC's random subtype splits matter on this small set; the table shows their mean
    assert len(set(per_seed)) > 1
    assert doc["scores"]["default"]["welinder_bluebird"] == pytest.approx(np.mean(per_seed))
    assert len({doc["by_seed"]["MV"][s]["welinder_bluebird"] for s in "0123"}) == 1
    printed = capsys.readouterr().out
    assert "mean over 4 seeds (0-3)" in printed
    assert "worst vs MV at any seed" in printed


def test_accuracy_table_ends_with_the_means_in_the_rows_columns() -> None:
    rows = [
        {"dataset": "a", "items": 10, "MV": 0.5, "default": 0.75},
        {"dataset": "b", "items": 20, "MV": 0.7, "default": 0.85},
    ]
    means = {"dataset": "mean", "MV": 0.6, "default": 0.8, "default_minus_MV_worst": 0.1}
    part = {"status": "ok", "data": {"rows": rows, "means": means}}
    lines = _report.accuracy(part).splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert table[0].split("|")[1:-1] == [" dataset ", " items ", " MV ", " default "]
    assert table[-1].replace(" ", "") == "|mean|-|0.6|0.8|"  # no column of its own
    assert len(table) == 2 + len(rows) + 1  # header, rule, the sets, the means
