"""The gt-manifest command line, through main() and once through a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from manifests._cli_util import progress
from manifests.cli import main
from manifests.transforms import split_fraction
from tests.conftest import dataset_path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "manifests"
PIER = str(DATA / "pier.manifest")
MIXED = str(DATA / "mixed-types.manifest")


def _lines(path: Path | str) -> list[dict[str, object]]:
    return [json.loads(x) for x in Path(path).read_text(encoding="utf-8").split("\n") if x.strip()]


def _broken(tmp_path: Path) -> str:
    lines = Path(PIER).read_text().split("\n")
    lines[2] = lines[2][:40]  # truncated JSON on line 3
    path = tmp_path / "broken.manifest"
    path.write_text("\n".join(lines))
    return str(path)


def test_validate_ok_and_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", PIER]) == 0
    err = capsys.readouterr().err
    assert err.strip() == "gt-manifest validate: read 6, valid 6, filtered 0, rejected 0, blank 0"
    broken = _broken(tmp_path)
    assert main(["validate", broken]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{broken}:3: <line>: invalid JSON: Unterminated string")
    assert err[-1].endswith("read 6, valid 5, filtered 0, rejected 1, blank 0")
    out = tmp_path / "valid.manifest"
    assert main(["validate", broken, "-o", str(out), "-q"]) == 1
    assert len(_lines(out)) == 5


def test_invalid_input_exits_1_with_file_line_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _broken(tmp_path)
    assert main(["filter", broken, "--min-confidence", "0.5"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"gt-manifest: {broken}:3: <line>: invalid JSON")
    assert (
        main(
            [
                "filter",
                broken,
                "--min-confidence",
                "0.5",
                "--on-error",
                "skip",
                "-o",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{broken}:3: <line>:")
    assert err[1] == "gt-manifest filter: read 6, written 1, filtered 4, rejected 1, blank 0"


def test_stats_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", PIER]) == 0
    captured = capsys.readouterr()
    assert "pier  [groundtruth/object-detection]" in captured.out
    assert "labelled 5, failed 1, unlabelled 0" in captured.out
    assert captured.err.strip().endswith("read 6, counted 6, filtered 0, rejected 0, blank 0")
    out = tmp_path / "stats.json"
    assert main(["stats", MIXED, "--json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["lines"] == 8
    assert doc["attributes"]["street-tags"]["classes"] == {
        "bicycle": 1,
        "pedestrian": 1,
    }


def test_filter_to_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["filter", PIER, "--has-class", "duck", "--human", "yes"]) == 0
    captured = capsysbinary.readouterr()
    assert [json.loads(x)["source-ref"] for x in captured.out.decode().splitlines()] == [
        "s3://b/i1.jpg",
        "s3://b/i2.jpg",
    ]
    assert (
        captured.err.decode().strip().endswith("read 6, written 2, filtered 4, rejected 0, blank 0")
    )


def test_drop_classes_section_5_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "adjust-input.manifest"
    assert (
        main(["drop-classes", PIER, "-a", "pier", "-c", "duck", "--mark-adjusted", "-o", str(out)])
        == 0
    )
    first = _lines(out)[0]
    assert first["pier"]["annotations"] == [
        {"class_id": 0, "left": 5, "top": 5, "width": 50, "height": 40}
    ]  # type: ignore[index]
    assert first["pier-metadata"]["adjustment-status"] == "adjusted"  # type: ignore[index]
    assert capsys.readouterr().err.strip().endswith("; boxes removed 3, lines changed 5")


def test_rename_classes_and_labels_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, labels_out = tmp_path / "o.manifest", tmp_path / "labels.json"
    args = ["rename-classes", PIER, "--map", "duck=bird", "--map", "heron=bird"]
    assert (
        main(
            [
                *args,
                "--labels",
                str(DATA / "pier-labels.json"),
                "--labels-out",
                str(labels_out),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(labels_out.read_text()) == {
        "document-version": "2018-11-28",
        "labels": [{"label": "bird"}, {"label": "gull"}],
    }
    assert _lines(out)[0]["pier-metadata"]["class-map"] == {"0": "bird"}  # type: ignore[index]
    assert main(args) == 2  # merging without the label list
    assert "needs the label list" in capsys.readouterr().err
    assert main(["rename-classes", PIER, "--map", "duck"]) == 2
    assert (
        main(
            [
                "rename-classes",
                PIER,
                "--map",
                "a=b",
                "--labels",
                "heron,gull,duck",
                "--labels-out",
                str(labels_out),
            ]
        )
        == 2
    )


def test_remap_ids_compact_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dropped = tmp_path / "dropped.manifest"
    assert main(["drop-classes", PIER, "-c", "gull", "-o", str(dropped), "-q"]) == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(dropped.read_bytes())))
    out, labels_out = tmp_path / "o.manifest", tmp_path / "labels.json"
    assert (
        main(["remap-ids", "-", "--compact", "--labels-out", str(labels_out), "-o", str(out)]) == 0
    )
    assert [x["label"] for x in json.loads(labels_out.read_text())["labels"]] == ["heron", "duck"]
    recs = _lines(out)
    assert recs[1]["pier-metadata"]["class-map"] == {"1": "duck"}  # type: ignore[index]
    assert main(["validate", str(out), "-q"]) == 0
    assert "ids 0->0, 2->1" in capsys.readouterr().err
    assert main(["remap-ids", PIER, "--map", "0=1", "--map", "1=0", "-o", str(out), "-q"]) == 0
    assert main(["remap-ids", PIER, "--map", "x=1"]) == 2
    assert main(["remap-ids", PIER]) == 2


def test_rename_attribute(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.manifest"
    assert main(["rename-attribute", PIER, "--from", "pier", "--to", "birds", "-o", str(out)]) == 0
    assert list(_lines(out)[0]) == ["source-ref", "birds", "birds-metadata"]
    assert main(["rename-attribute", PIER, "--from", "pier", "--to", "birds-metadata"]) == 2
    assert "must not end with '-metadata'" in capsys.readouterr().err
    assert main(["rename-attribute", PIER, "--from", "pier", "--to", "pier-ref"]) == 1


def test_to_adjustment_and_verification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, labels_out = tmp_path / "o.manifest", tmp_path / "labels.json"
    args = ["to-adjustment", PIER, "-a", "pier", "--labels", str(DATA / "pier-labels.json")]
    assert (
        main([*args, "--extra-label", "egret", "--labels-out", str(labels_out), "-o", str(out)])
        == 1
    )
    assert "pier.manifest:5: pier: failed object" in capsys.readouterr().err
    assert (
        main(
            [
                *args,
                "--extra-label",
                "egret",
                "--labels-out",
                str(labels_out),
                "-o",
                str(out),
                "--on-error",
                "skip",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "label attribute name for the adjustment job: pier-adjusted" in err
    assert len(_lines(out)) == 5
    assert [x["label"] for x in json.loads(labels_out.read_text())["labels"]] == [
        "heron",
        "gull",
        "duck",
        "egret",
    ]
    assert (
        main(["to-verification", MIXED, "-a", "street-tags", "--on-error", "skip", "-o", str(out)])
        == 0
    )
    assert "street-tags-verified" in capsys.readouterr().err
    # only the line that carries a street-tags label, unchanged, goes to the verification job
    street = [line for line in Path(MIXED).read_text().splitlines() if '"street-tags"' in line]
    assert out.read_text().splitlines() == street
    bad_labels = [
        "to-adjustment",
        PIER,
        "-a",
        "pier",
        "--on-error",
        "skip",
        "--labels",
        "duck,heron",
        "--labels-out",
        str(labels_out),
    ]
    assert main([*bad_labels, "-o", str(out)]) == 1
    assert "class id 0 is 'heron' in the manifest but 'duck' in --labels" in (
        capsys.readouterr().err
    )


def test_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = str(tmp_path / "{name}.manifest")
    assert main(["split", PIER, "--part", "train=0.5,test=0.5", "--seed", "1", "-o", template]) == 0
    train, test = _lines(tmp_path / "train.manifest"), _lines(tmp_path / "test.manifest")
    # Each line goes where its source-ref's seeded hash falls among the cumulative fractions.
    sources = [str(r["source-ref"]) for r in _lines(PIER)]
    want_train = [s for s in sources if split_fraction(s, seed=1) < 0.5]
    assert [r["source-ref"] for r in train] == want_train
    assert [r["source-ref"] for r in test] == [s for s in sources if s not in want_train]
    assert 0 < len(want_train) < 6  # both parts used: a split that ignores the hash would show
    assert f"written 6, filtered 0, rejected 0, blank 0; train {len(train)}, test {len(test)}" in (
        capsys.readouterr().err
    )
    # Another seed gives another split of the same lines.
    assert main(["split", PIER, "--part", "train=0.5,test=0.5", "--seed", "2", "-o", template]) == 0
    other = [r["source-ref"] for r in _lines(tmp_path / "train.manifest")]
    assert other == [s for s in sources if split_fraction(s, seed=2) < 0.5] != want_train
    assert main(["split", PIER, "--part", "train=0.5"]) == 2
    assert main(["split", PIER, "--part", "train", "-o", template]) == 2
    assert main(["split", PIER, "--part", "a=0.7,b=0.7", "-o", template]) == 2


def test_responses_payload_and_boxes_csv(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    payload = str(DATA / "gt-recipe-payload.json")
    assert main(["responses", payload]) == 0
    rows = [json.loads(x) for x in capsysbinary.readouterr().out.decode().splitlines()]
    assert [r["item"] for r in rows] == ["0", "2"]
    assert "annotatedResult" in rows[0]["content"]
    out = tmp_path / "boxes.csv"
    assert (
        main(
            [
                "responses",
                payload,
                "--task",
                "boxes",
                "--format",
                "csv",
                "-o",
                str(out),
                "--labels",
                "Red,Green",
            ]
        )
        == 0
    )
    table = list(csv.DictReader(out.open()))
    assert [(r["item"], r["label"], r["left"]) for r in table] == [
        ("0", "0", "116"),
        ("0", "1", "418"),
        ("2", "1", "76"),
        ("2", "0", "414"),
    ]
    assert main(["responses", payload, "--format", "csv"]) == 2
    assert main(["responses", payload, "--task", "classification", "-q"]) == 1  # no 'label' element


@pytest.mark.shared
def test_responses_reproduce_answers_csv(tmp_path: Path) -> None:
    folder = dataset_path("groundtruth", "birds-ic-mturk5", "worker-response")
    labels = "Duck,Sparrow,Woodpecker,Owl,Parrot,Turkey,Falcon,Swan,Goose,Canary"
    out = tmp_path / "answers.csv"
    assert (
        main(
            [
                "responses",
                str(folder),
                "--task",
                "classification",
                "--format",
                "csv",
                "--labels",
                labels,
                "-o",
                str(out),
            ]
        )
        == 0
    )
    mine = list(csv.reader(out.open()))
    theirs = list(csv.reader((folder.parent / "answers.csv").open()))
    assert mine[0] == theirs[0] == ["item", "worker", "label"]
    assert sorted(mine[1:]) == sorted(theirs[1:])
    assert len(mine) == 1511


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["no-such-command"]) == 2
    assert main(["filter"]) == 2
    assert main(["filter", "/no/such/file.manifest"]) == 2
    assert main(["filter", PIER, "--status", "done"]) == 2
    assert main(["drop-classes", PIER]) == 2
    assert main(["filter", PIER, "--labels"]) == 2
    assert main(["--help"]) == 0
    assert "validate" in capsys.readouterr().out


def test_progress_bar_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert list(progress(range(10), None, enabled=False)) == list(range(10))
    clock = iter(float(t) for t in range(10**6))
    monkeypatch.setattr("manifests._cli_util.time.monotonic", lambda: next(clock))
    assert sum(1 for _ in progress(range(20_000), None, enabled=True)) == 20_000
    err = capsys.readouterr().err
    assert "lines" in err
    assert err.endswith("\r")
    assert main(["filter", PIER, "-q", "-o", str(tmp_path / "out.manifest")]) == 0
    assert capsys.readouterr().err == ""  # stderr is not a terminal under pytest: no bar


def _run_module(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "manifests.cli", *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=REPO,
        check=False,
    )


def test_subprocess_python_m_manifests_cli(tmp_path: Path) -> None:
    done = _run_module("filter", "-", "--min-confidence", "0.5", stdin=Path(PIER).read_bytes())
    assert done.returncode == 0
    assert [json.loads(x)["source-ref"] for x in done.stdout.decode().splitlines()] == [
        "s3://b/i3.jpg",
        "s3://b/i6.jpg",
    ]
    assert (
        done.stderr.decode().strip()
        == "gt-manifest filter: read 6, written 2, filtered 4, rejected 0, blank 0"
    )
    broken = _run_module(
        "validate", "-", "--on-error", "raise", stdin=b'{"source": "a"}\n{"source": NaN}\n'
    )
    assert broken.returncode == 1
    assert broken.stderr.decode().startswith(
        "gt-manifest: <stdin>:2: <line>: invalid JSON: NaN is not valid JSON"
    )
    assert _run_module("filter").returncode == 2


def test_manifests_never_imports_numba_or_consolidation() -> None:
    code = (
        "import sys, manifests, manifests.cli, manifests.responses, manifests.stats;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'consolidation'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stdout
