"""The gt-consolidate command line: every command through main(), a few through a subprocess."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import consolidation
from consolidation.cli import main
from tests.conftest import dataset_path

REPO = Path(__file__).resolve().parents[1]
LAMBDA = Path(__file__).parent / "data" / "lambda"
BIRDS = resources.files("consolidation") / "data" / "birds"
CLASSES: list[str] = json.loads((BIRDS / "classes.json").read_text())

ANSWERS = """item,worker,label
i1,w1,cat
i1,w2,cat
i1,w3,dog
i2,w1,dog
i2,w2,dog
i2,w3,dog
i3,w1,fox
i3,w2,cat
i3,w3,fox
i4,w1,cat
i4,w3,cat
"""


# -------------------------------------------------------------------------------------------------
# helpers
# -------------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _rows(text: str) -> list[tuple[str, str, str]]:
    return [(r["item"], r["worker"], r["label"]) for r in _csv(text)]


def _lines(path: Path | str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x]


def _birds_payload(tmp_path: Path, iteration: int) -> str:
    path = tmp_path / f"birds-{iteration}.json"
    data = gzip.decompress(
        (BIRDS / f"consolidation-request-iteration-{iteration}.json.gz").read_bytes()
    )
    path.write_bytes(data)
    return str(path)


def _birds_input(tmp_path: Path) -> str:
    path = tmp_path / "input.manifest"
    path.write_bytes(gzip.decompress((BIRDS / "input.manifest.gz").read_bytes()))
    return str(path)


def _service_labels() -> list[str]:
    text = gzip.decompress((BIRDS / "output.manifest.gz").read_bytes()).decode()
    return [
        json.loads(x)["birds-open-images-clone-metadata"]["class-name"] for x in text.splitlines()
    ]


def _run(*args: str, cwd: Path | str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def _validate(path: Path | str) -> None:
    done = _run("-m", "manifests.cli", "validate", str(path))
    assert done.returncode == 0, done.stderr
    assert "rejected 0" in done.stderr


def _box_payload(tmp_path: Path, n_items: int = 8, seed: int = 3) -> tuple[str, Any]:
    from consolidation.simulate import boxes

    sim = boxes(n_items, 3, n_classes=2, objects_per_item=2, worker_mix={"precise": 1.0}, seed=seed)
    ann = sim.annotations
    names = ["car", "bike"]
    answers: dict[int, dict[int, list[dict[str, Any]]]] = {}
    for i, w in zip(ann.answered_items.tolist(), ann.answered_workers.tolist(), strict=True):
        answers.setdefault(i, {}).setdefault(w, [])
    for i, w, k, b in zip(
        ann.items.tolist(),
        ann.workers.tolist(),
        ann.labels.tolist(),
        ann.boxes.tolist(),
        strict=True,
    ):
        box = dict(zip(("left", "top", "width", "height"), map(int, b), strict=True))
        answers[i][w].append({"label": names[k], **box})
    payload = [
        {
            "datasetObjectId": str(i),
            "dataObject": {"s3Uri": f"s3://bucket/{i}.jpg"},
            "annotations": [
                {
                    "workerId": f"private.w{w}",
                    "annotationData": {
                        "content": json.dumps(
                            {
                                "annotatedResult": {
                                    "boundingBoxes": drawn,
                                    "inputImageProperties": {"width": 640, "height": 480},
                                }
                            }
                        )
                    },
                }
                for w, drawn in by_worker.items()
            ],
        }
        for i, by_worker in answers.items()
    ]
    path = tmp_path / "boxes-payload.json"
    path.write_text(json.dumps(payload))
    return str(path), sim


def _manifest_for(tmp_path: Path, n: int) -> str:
    lines = "".join(json.dumps({"source-ref": f"s3://bucket/{i}.jpg"}) + "\n" for i in range(n))
    return _write(tmp_path / "input.manifest", lines)


# -------------------------------------------------------------------------------------------------
# usage, errors
# -------------------------------------------------------------------------------------------------


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "classify", "multilabel", "boxes", "workers", "simulate", "evaluate"):
        assert command in out
    assert "lambda" in out
    assert "examples:" in out
    assert main(["classify", "--help"]) == 0
    assert "--state" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["classify", "x.csv", "--bogus"],
        ["classify", "x.csv", "--method", "nope"],
        ["boxes", "x.json", "--min-votes", "0"],
        ["classify", "x.csv", "--jobs", "0"],
        ["evaluate", "x.csv", "--gold", "g.csv", "-j", "two"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_classify_class_mix_holds_the_gold_mix_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from consolidation import BayesianDawidSkene, default_estimator

    answers = _write(tmp_path / "a.csv", ANSWERS)
    gold = _write(tmp_path / "gold.csv", "item,label\ni1,cat\ni2,cat\ni3,dog\nx9,cat\n")
    assert main(["classify", answers, "--class-mix", gold]) == 0
    out, err = capsys.readouterr()
    assert "class mix of 4 gold labels held fixed" in err
    # the same as the library with the gold counts + 0.5 per class (fox: unseen in the gold)
    mix = {"cat": 3.5, "dog": 1.5, "fox": 0.5}
    est = BayesianDawidSkene(**{**default_estimator().get_params(), "class_prior": mix})
    est.fit(_rows(ANSWERS))
    want = [f"{round(c, 4):g}" for c in est.confidence_]
    assert [r["confidence"] for r in _csv(out)] == want
    assert [r["label"] for r in _csv(out)] == est.labels_.tolist()
    # only for the default method, and only with classes the answers have
    assert main(["classify", answers, "--class-mix", gold, "--method", "mds"]) == 2
    assert "--class-mix needs --method default" in capsys.readouterr().err
    bad = _write(tmp_path / "bad.csv", "item,label\ni1,cow\n")
    assert main(["classify", answers, "--class-mix", bad]) == 1
    assert f"{bad}: item 'i1': label 'cow' is not a class of the answers" in capsys.readouterr().err


def test_classify_says_which_setting_the_default_chose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from consolidation import default_estimator

    answers = _write(tmp_path / "a.csv", ANSWERS)
    gold = _write(tmp_path / "gold.csv", "item,label\ni1,cat\ni2,cat\ni3,dog\n")
    state = tmp_path / "workers.json"
    assert main(["classify", answers, "--state", str(state)]) == 0
    est = default_estimator().fit(_rows(ANSWERS))
    chosen = {1: "IBCC", 3: "EBCC, 3 subtypes"}[int(est.selected_params_["n_subtypes"])]
    err = capsys.readouterr().err
    assert f"method default ({chosen}, " in err
    # the class mix and the warm start are both reported, not one over the other
    assert main(["classify", answers, "--class-mix", gold, "--state", str(state)]) == 0
    err = capsys.readouterr().err
    assert "class mix of 3 gold labels held fixed" in err
    assert "warm start (3 of 3 workers known)" in err
    assert main(["classify", answers, "-m", "mds"]) == 0
    assert "method mds, written" in capsys.readouterr().err


def test_jobs_reaches_the_default_and_leaves_the_results_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import consolidation._cli_classify as cli_classify

    made: list[tuple[str, Any]] = []
    real = cli_classify.make_estimator

    def spy(name: str, **kwargs: Any) -> Any:
        est = real(name, **kwargs)
        made.append((name, est.get_params().get("n_jobs", "none")))
        return est

    monkeypatch.setattr(cli_classify, "make_estimator", spy)
    answers = _write(tmp_path / "a.csv", ANSWERS)
    outputs = []
    for jobs in ([], ["--jobs", "1"], ["-j", "2"], ["-j", "-1"]):
        assert main(["classify", answers, "-q", *jobs]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[1:] == outputs[:1] * 3  # same labels and confidences, bit for bit
    assert made == [("default", -1), ("default", 1), ("default", 2), ("default", -1)]
    made.clear()
    gold = _write(tmp_path / "gold.csv", "item,label\ni1,cat\ni2,cat\ni3,dog\n")
    assert main(["evaluate", answers, "--gold", gold, "--methods", "mds,default", "-j", "1"]) == 0
    assert made == [("mds", "none"), ("default", 1)]  # methods without settings ignore it
    made.clear()
    assert main(["workers", answers, "-j", "1", "-q"]) == 0
    multi = _write(tmp_path / "m.jsonl", "".join(json.dumps(r) + "\n" for r in MULTI))
    assert main(["multilabel", multi, "-j", "1", "-q"]) == 0
    assert made == [("default", 1), ("default", 1)]


def _twins_csv(path: Path, sim: Any) -> str:
    """Write a crowd whose every worker has a twin who copies every answer, as answer rows."""
    from consolidation.simulate import add_copiers

    b = add_copiers(sim).annotations
    rows = zip(b.items.tolist(), b.worker_ids[b.workers].tolist(), b.labels.tolist(), strict=True)
    return _write(path, "item,worker,label\n" + "".join(f"i{i},w{w},c{k}\n" for i, w, k in rows))


def test_classify_calibrate_tempers_confidences_on_gold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from consolidation.quality import calibration
    from consolidation.simulate import classification

    sim = classification(1500, 30, 3, 3, seed=1)
    answers = _twins_csv(tmp_path / "answers.csv", sim)
    audit = _write(
        tmp_path / "audit.csv",
        "item,label\n" + "".join(f"i{i},c{sim.truth[i]}\n" for i in range(200)),
    )
    assert main(["classify", answers]) == 0
    raw = _csv(capsys.readouterr().out)
    assert main(["classify", answers, "--calibrate", audit]) == 0
    out, err = capsys.readouterr()
    tempered = _csv(out)
    assert "confidences tempered (T=" in err
    assert "fitted on 200 gold items" in err
    assert [r["label"] for r in tempered] == [r["label"] for r in raw]  # labels never change
    rest = [int(r["item"][1:]) for r in raw][200:]  # items the temperature did not see
    truth = sim.truth[rest]

    def ece_of(rows: list[dict[str, str]]) -> float:
        conf = [float(r["confidence"]) for r in rows[200:]]
        top = [int(r["label"][1:]) for r in rows[200:]]
        pairs = zip(conf, top, strict=True)
        post = [[c if k == t else (1 - c) / 2 for k in range(3)] for c, t in pairs]
        return calibration(post, truth).ece

    assert ece_of(tempered) < 0.5 * ece_of(raw)
    # Gold that matches no item is an input error that names the file.
    none = _write(tmp_path / "none.csv", "item,label\nzz,c0\n")
    assert main(["classify", answers, "--calibrate", none]) == 1
    assert "none.csv: no gold label matches" in capsys.readouterr().err


def test_classify_self_calibrate_tempers_confidences_without_gold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from consolidation import Annotations, default_estimator
    from consolidation.quality import self_temperature, temper
    from consolidation.simulate import classification

    answers = _twins_csv(tmp_path / "answers.csv", classification(600, 20, 3, 3, seed=2))
    assert main(["classify", answers]) == 0
    raw = _csv(capsys.readouterr().out)
    assert main(["classify", answers, "--self-calibrate"]) == 0
    out, err = capsys.readouterr()
    assert "fitted on the answers, no gold" in err
    tempered = _csv(out)
    assert [r["label"] for r in tempered] == [r["label"] for r in raw]  # labels never change
    est = default_estimator().fit(Annotations.from_csv(answers))
    t = self_temperature(est)
    assert t > 1.2
    assert f"(T={t:.2f}," in err
    want = dict(zip(est.item_ids_, temper(est.posteriors_, t).max(axis=1), strict=True))
    for row in tempered:
        assert float(row["confidence"]) == pytest.approx(want[row["item"]], abs=5e-5)
    # Other methods have no evidence bound to temper: a usage error, before any fitting.
    assert main(["classify", answers, "--self-calibrate", "-m", "mds"]) == 2
    assert "--self-calibrate needs --method default" in capsys.readouterr().err
    # One temperature or the other.
    assert main(["classify", answers, "--self-calibrate", "--calibrate", answers]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_missing_file_is_a_usage_error_naming_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope.csv")
    # Exit 2 as in gt-manifest: the path typed on the command line is wrong, not its content.
    assert main(["classify", missing, "-m", "mv"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"gt-consolidate: {missing}: no such file or folder"
    assert main(["evaluate", _write(tmp_path / "a.csv", ANSWERS), "--gold", missing]) == 2
    assert missing in capsys.readouterr().err
    assert main(["lambda", missing]) == 2
    assert missing in capsys.readouterr().err
    assert main(["lambda", missing, "--indent", "-3"]) == 2
    assert "expected a whole number >= 0, got '-3'" in capsys.readouterr().err


def test_bad_csv_row_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "bad.csv", ANSWERS.replace("i2,w2,dog\n", "i2,w2\n"))
    assert main(["classify", path, "-m", "mv"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (f"gt-consolidate: {path}:6: <line>: expected 3 fields, got 2")
    assert "Traceback" not in captured.err
    empty = _write(tmp_path / "empty.csv", ANSWERS.replace("i3,w2,cat", "i3,,cat"))
    assert main(["classify", empty, "-m", "mv"]) == 1
    assert f"{empty}:9: worker: empty value" in capsys.readouterr().err
    header = _write(tmp_path / "header.csv", "a,b,c\n1,2,3\n")
    assert main(["classify", header, "-m", "mv"]) == 1
    assert f"{header}:1: header: missing column(s) item, worker, label" in capsys.readouterr().err


def test_classify_csv_columns_by_name_in_any_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The classification CSV reader takes fields by position: any column order, extra columns,
    # and a repeated name resolved as before (the last one wins), with the same rejections.
    text = (
        "worker,note,label,item,label\n"
        "w1,x,ignored,i1,cat\n"
        "w2,,ignored,i1,cat\n"
        "w1,y,ignored,,dog\n"  # empty item
        "w2,z,ignored,i2,\n"  # empty label (the last label column)
        "w1,,ignored,i2,dog\n"
    )
    path = _write(tmp_path / "cols.csv", text)
    assert main(["classify", path, "-m", "mv", "--on-error", "skip"]) == 0
    captured = capsys.readouterr()
    assert [(r["item"], r["label"]) for r in _csv(captured.out)] == [("i1", "cat"), ("i2", "dog")]
    err = captured.err.splitlines()
    assert err[:2] == [f"{path}:4: item: empty value", f"{path}:5: label: empty value"]
    assert "read 5 answers (2 items, 2 workers, 2 classes)" in err[2]
    assert err[2].endswith("written 2, rejected 2")


def test_on_error_skip_lists_rejections_and_counts_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "a.csv", ANSWERS + "i5,w1,cow\n")
    assert main(["classify", path, "-m", "mv", "--classes", "cat,dog,fox"]) == 1
    assert f"{path}:13: label: 'cow' is not one of --classes" in capsys.readouterr().err
    assert (
        main(["classify", path, "-m", "mv", "--classes", "cat,dog,fox", "--on-error", "skip"]) == 0
    )
    captured = capsys.readouterr()
    assert [r["item"] for r in _csv(captured.out)] == ["i1", "i2", "i3", "i4"]
    err = captured.err.splitlines()
    assert err[0] == f"{path}:13: label: 'cow' is not one of --classes"
    assert err[1] == (
        "gt-consolidate classify: read 12 answers (4 items, 3 workers, 3 classes), method mv, "
        "written 4, rejected 1"
    )


def test_single_class_is_invalid_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "a.csv", "item,worker,label\n1,a,x\n2,a,x\n")
    assert main(["classify", path, "-m", "mv"]) == 1
    assert "need at least 2 classes" in capsys.readouterr().err


# -------------------------------------------------------------------------------------------------
# classify
# -------------------------------------------------------------------------------------------------


def test_classify_csv_mds_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "a.csv", ANSWERS)
    assert main(["classify", path, "--method", "mds"]) == 0
    captured = capsys.readouterr()
    rows = _csv(captured.out)
    assert [(r["item"], r["label"]) for r in rows] == [
        ("i1", "cat"),
        ("i2", "dog"),
        ("i3", "fox"),
        ("i4", "cat"),
    ]
    # The README's numbers for the reference 1.9 example (MDS run to convergence).
    assert [round(float(r["confidence"]), 3) for r in rows] == [0.987, 0.997, 0.98, 0.995]
    mds = consolidation.ModifiedDawidSkene(seed=0).fit(_rows(ANSWERS))
    assert [r["confidence"] for r in rows] == [f"{round(c, 4):g}" for c in mds.confidence_]
    assert captured.err.strip() == (
        "gt-consolidate classify: read 11 answers (4 items, 3 workers, 3 classes), method mds, "
        "written 4, rejected 0"
    )


def test_classify_warns_up_front_when_the_default_will_take_long(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from consolidation import _cli_classify

    path = _write(tmp_path / "a.csv", ANSWERS)
    monkeypatch.setattr(_cli_classify, "SLOW_DEFAULT_ANSWERS", 11)  # the file has 11 answers
    assert main(["classify", path]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("gt-consolidate: 11 answers; the default method takes tens of seconds")
    for quiet_or_fast in (["-q"], ["--method", "mds"]):
        assert main(["classify", path, *quiet_or_fast]) == 0
        assert "tens of seconds" not in capsys.readouterr().err
    monkeypatch.setattr(_cli_classify, "SLOW_DEFAULT_ANSWERS", 12)
    assert main(["classify", path]) == 0
    assert "tens of seconds" not in capsys.readouterr().err


def test_classify_mv_cap_stdin_and_output_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ANSWERS.encode())))
    out = tmp_path / "labels.csv"
    assert main(["classify", "-", "-m", "mv", "--max-confidence", "0.9", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    rows = _csv(out.read_text())
    assert [(r["label"], r["confidence"]) for r in rows] == [
        ("cat", "0.6667"),
        ("dog", "0.9"),
        ("fox", "0.6667"),
        ("cat", "0.9"),
    ]
    assert main(["classify", str(out), "--max-confidence", "1.5"]) == 2


def test_classify_jsonl_rows_with_integer_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"item": 0, "worker": "a", "label": 1},
        {"item": 0, "worker": "b", "label": 1},
        {"item": 0, "worker": "c", "label": 0},
        {"item": 1, "worker": "a", "label": 10},
        {"item": 1, "worker": "b", "label": 10},
    ]
    path = _write(tmp_path / "a.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    assert main(["classify", path, "-m", "mv"]) == 0
    captured = capsys.readouterr()
    assert _csv(captured.out) == [
        {"item": "0", "label": "1", "confidence": "0.6667"},
        {"item": "1", "label": "10", "confidence": "1"},
    ]
    assert "3 classes" in captured.err
    bad = _write(tmp_path / "bad.jsonl", '{"item": 0, "worker": "a", "label": 1}\n{"item": 1}\n')
    assert main(["classify", bad, "-m", "mv"]) == 1
    assert f"{bad}:2: worker: missing" in capsys.readouterr().err


def test_classify_payload_to_manifest_matches_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    classes = _write(tmp_path / "classes.json", json.dumps(CLASSES))
    payload = _birds_payload(tmp_path, 2)
    out = tmp_path / "out.manifest"
    argv = ["classify", payload, "-m", "mds-service", "--classes", classes, "--format", "manifest"]
    argv += ["--manifest", _birds_input(tmp_path), "-a", "birds", "-o", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "read 1460 answers (292 items, " in err
    assert "written 302, labelled 292" in err
    lines = _lines(out)
    service = _service_labels()
    assert len(lines) == 302
    labelled = [(n, x) for n, x in enumerate(lines) if "birds" in x]
    assert len(labelled) == 292
    first_batch = {7, 36}  # objects of iteration 1 pass through unchanged
    assert not first_batch & {n for n, _ in labelled}
    assert lines[7] == {"source-ref": lines[7]["source-ref"]}
    agree = sum(x["birds-metadata"]["class-name"] == service[n] for n, x in labelled)
    assert agree >= 288
    meta = labelled[0][1]["birds-metadata"]
    assert meta["type"] == "groundtruth/image-classification"
    assert meta["job-name"] == "labeling-job/birds"
    assert CLASSES[labelled[0][1]["birds"]] == meta["class-name"]
    assert max(x["birds-metadata"]["confidence"] for _, x in labelled) == 0.95


def test_classify_manifest_needs_manifest_and_attribute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "a.csv", ANSWERS)
    assert main(["classify", path, "-m", "mv", "--format", "manifest"]) == 2
    assert "--format manifest needs --manifest and --attribute" in capsys.readouterr().err
    manifest = _manifest_for(tmp_path, 2)
    argv = ["classify", path, "-m", "mv", "--format", "manifest", "--manifest", manifest]
    assert main([*argv, "-a", "source-ref"]) == 2
    assert "reserved" in capsys.readouterr().err
    assert main(["classify", path, "-m", "mv", "-a", "pets"]) == 2
    assert "--attribute goes with --format manifest" in capsys.readouterr().err
    assert main(["classify", path, "-m", "mv", "-a", "pets", "--manifest", manifest]) == 2
    assert "--manifest and --attribute go with --format manifest" in capsys.readouterr().err
    assert main(["classify", path, "-m", "mv", "--text"]) == 2
    assert "--text goes with --format manifest" in capsys.readouterr().err
    missing = str(tmp_path / "missing.manifest")
    assert main([*argv[:-1], missing, "-a", "pets"]) == 2
    assert f"{missing}: no such file" in capsys.readouterr().err
    out = tmp_path / "o.manifest"
    # 4 items (ids i1..i4 are no line numbers): invalid input, and nothing is written
    assert main([*argv, "-a", "pets", "-o", str(out)]) == 1
    assert "4 consolidated object(s) match no line" in capsys.readouterr().err
    assert not out.exists()
    assert list(tmp_path.glob(".tmp-*")) == []
    assert main([*argv, "-a", "pets", "-o", str(out), "--on-error", "skip"]) == 0
    err = capsys.readouterr().err
    assert "warning: 4 consolidated object(s) match no line" in err
    assert "labelled 0, unmatched 4 (not written)" in err
    assert len(_lines(out)) == 2


def test_classify_warm_start_state_across_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "workers.json"
    classes = ",".join(CLASSES)
    outputs = []
    for iteration in (1, 2):
        argv = ["classify", _birds_payload(tmp_path, iteration), "-m", "mds", "--state", str(state)]
        assert main([*argv, "--classes", classes]) == 0
        outputs += _csv(capsys.readouterr().out)
        assert state.exists()
    saved = json.loads(state.read_text())
    assert saved["classes"] == CLASSES
    assert len(saved["workers"]) == 97
    assert len(outputs) == 302
    service = _service_labels()
    agree = sum(r["label"] == service[int(r["item"])] for r in outputs)
    assert agree == 301  # what the Lambda handler gets with the same state (test_lambda)
    # The classes come from the state when --classes is omitted; a state needs an EM method.
    assert main(["classify", _birds_payload(tmp_path, 1), "-m", "mds", "--state", str(state)]) == 0
    capsys.readouterr()
    assert main(["classify", _birds_payload(tmp_path, 1), "-m", "mv", "--state", str(state)]) == 2
    assert "--state needs a method" in capsys.readouterr().err
    argv = ["classify", _birds_payload(tmp_path, 1), "-m", "mds", "--state", str(state)]
    assert main([*argv, "--classes", "Owl,Duck"]) == 1
    assert f"{state}: worker state was learned for classes" in capsys.readouterr().err


def test_classify_worker_response_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = {"0": ["Owl", "Owl", "Duck"], "1": ["Duck", "Duck", "Duck"]}
    for item, labels in answers.items():
        folder = tmp_path / "job" / "annotations" / "worker-response" / "iteration-1" / item
        folder.mkdir(parents=True)
        doc = {
            "answers": [
                {
                    "answerContent": {"crowd-image-classifier": {"label": label}},
                    "workerId": f"public.us-east-1.W{k}",
                    "submissionTime": "2019-04-18T16:10:53Z",
                }
                for k, label in enumerate(labels)
            ]
        }
        (folder / "2019-04-18_16:12:00.json").write_text(json.dumps(doc))
    assert main(["classify", str(tmp_path / "job"), "-m", "mv"]) == 0
    captured = capsys.readouterr()
    assert _csv(captured.out) == [
        {"item": "0", "label": "Owl", "confidence": "0.6667"},
        {"item": "1", "label": "Duck", "confidence": "1"},
    ]
    assert "read 6 answers (2 items, 3 workers, 2 classes)" in captured.err
    bad = tmp_path / "job" / "annotations" / "worker-response" / "iteration-1" / "1"
    (bad / "2019-04-18_16:13:00.json").write_text('{"answers": [{"answerContent": {}}]}')
    assert main(["classify", str(tmp_path / "job"), "-m", "mv"]) == 1
    err = capsys.readouterr().err
    assert f"{bad / '2019-04-18_16:13:00.json'}: answers[0].workerId: missing" in err


# -------------------------------------------------------------------------------------------------
# multilabel, boxes
# -------------------------------------------------------------------------------------------------

MULTI = [
    {"item": "0", "worker": "a", "labels": ["cat", "dog"]},
    {"item": "0", "worker": "b", "labels": ["cat"]},
    {"item": "0", "worker": "c", "labels": ["cat"]},
    {"item": "1", "worker": "a", "labels": []},
    {"item": "1", "worker": "b", "labels": ["dog"]},
    {"item": "1", "worker": "c", "labels": ["dog"]},
]


def test_multilabel_union_and_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "a.jsonl", "".join(json.dumps(r) + "\n" for r in MULTI))
    assert main(["multilabel", path, "-m", "mv"]) == 0
    captured = capsys.readouterr()
    assert _csv(captured.out) == [
        {"item": "0", "labels": "cat|dog", "confidences": "1|0.3333"},
        {"item": "1", "labels": "dog", "confidences": "0.6667"},
    ]
    assert "read 6 answers (2 items, 3 workers, 2 classes), written 2" in captured.err
    assert main(["multilabel", path, "-m", "mv", "--output-rule", "threshold"]) == 0
    assert [r["labels"] for r in _csv(capsys.readouterr().out)] == ["cat", "dog"]
    assert (
        main(["multilabel", path, "-m", "mv", "--output-rule", "threshold", "--threshold", "2"])
        == 2
    )
    bad = capsys.readouterr()
    assert bad.out == ""
    assert "--threshold 2.0: expected a finite number in [0, 1]" in bad.err
    assert main(["multilabel", path, "-m", "mv", "--threshold", "0.9"]) == 2  # union ignores it
    assert "--threshold goes with --output-rule threshold" in capsys.readouterr().err


def test_multilabel_mds_service_caps_confidences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "a.jsonl", "".join(json.dumps(r) + "\n" for r in MULTI))
    assert main(["multilabel", path, "-m", "mds"]) == 0
    free = [float(c) for r in _csv(capsys.readouterr().out) for c in r["confidences"].split("|")]
    assert main(["multilabel", path, "-m", "mds-service"]) == 0
    capped = [float(c) for r in _csv(capsys.readouterr().out) for c in r["confidences"].split("|")]
    assert max(free) > 0.95
    assert capped == [min(c, 0.95) for c in free]


def test_multilabel_csv_to_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "item,worker,labels\n" + "".join(
        f"{r['item']},{r['worker']},{'|'.join(r['labels'])}\n" for r in MULTI
    )
    path = _write(tmp_path / "a.csv", text)
    out = tmp_path / "out.manifest"
    argv = ["multilabel", path, "-m", "mv", "--format", "manifest", "-a", "pets"]
    assert main([*argv, "--manifest", _manifest_for(tmp_path, 3), "-o", str(out)]) == 0
    lines = _lines(out)
    assert lines[0]["pets"] == [0, 1]
    assert lines[0]["pets-metadata"]["class-map"] == {"0": "cat", "1": "dog"}
    assert lines[0]["pets-metadata"]["confidence-map"] == {"0": 1.0, "1": 0.33}
    assert lines[1]["pets"] == [1]
    assert "pets" not in lines[2]
    assert lines[0]["pets-metadata"]["type"] == "groundtruth/image-classification-multilabel"
    assert "written 3, labelled 2" in capsys.readouterr().err


def test_boxes_payload_csv_and_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payload, sim = _box_payload(tmp_path)
    assert main(["boxes", payload]) == 0
    captured = capsys.readouterr()
    rows = _csv(captured.out)
    assert list(rows[0]) == [
        "item", "label", "left", "top", "width", "height", "confidence", "support"
    ]  # fmt: skip
    assert {r["label"] for r in rows} <= {"car", "bike"}
    strong = [r for r in rows if r["support"] == "3"]
    assert len(strong) >= sim.true_items.size - 2  # precise workers find (nearly) every object
    assert all(float(r["confidence"]) > 0.7 for r in strong)
    assert "read 24 answers (8 items, 3 workers," in captured.err
    assert main(["boxes", payload, "--min-votes", "3"]) == 0
    assert {r["support"] for r in _csv(capsys.readouterr().out)} == {"3"}
    out = tmp_path / "out.manifest"
    argv = ["boxes", payload, "--format", "manifest", "-a", "vehicles", "--classes", "car,bike"]
    assert main([*argv, "--manifest", _manifest_for(tmp_path, 8), "-o", str(out)]) == 0
    lines = _lines(out)
    assert all(
        x["vehicles"]["image_size"] == [{"width": 640, "height": 480, "depth": 3}] for x in lines
    )
    n_boxes = sum(len(x["vehicles"]["annotations"]) for x in lines)
    assert n_boxes == len(rows)
    assert all(
        len(x["vehicles-metadata"]["objects"]) == len(x["vehicles"]["annotations"]) for x in lines
    )


def test_boxes_csv_rows_with_an_empty_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "item,worker,label,left,top,width,height,image_width,image_height\n"
        "img,a,owl,10,10,100,100,640,480\n"
        "img,b,owl,12,10,100,100,640,480\n"
        "img,c,,,,,,640,480\n"
    )
    assert main(["boxes", _write(tmp_path / "b.csv", text)]) == 0
    captured = capsys.readouterr()
    (row,) = _csv(captured.out)
    assert (row["item"], row["label"], row["left"], row["width"], row["support"]) == (
        "img", "owl", "11", "100", "2"
    )  # fmt: skip
    # Confidence: IoUs with the fused box over the 3 workers who answered (one drew nothing).
    assert float(row["confidence"]) == pytest.approx((2 * 100 * 99 / (100 * 101)) / 3, abs=1e-4)
    assert "read 3 answers (1 item, 3 workers, 2 boxes)" in captured.err
    bad = _write(tmp_path / "bad.csv", text.replace("12,10", "x,10"))
    assert main(["boxes", bad]) == 1
    assert f"{bad}:3: left: not a number: 'x'" in capsys.readouterr().err


def test_boxes_manifest_needs_every_image_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "item,worker,label,left,top,width,height,image_width,image_height\n"
        "0,a,owl,10,10,100,100,640,480\n"
        "0,b,owl,12,10,100,100,640,480\n"
        "1,a,owl,10,10,100,100,,\n"
        "1,b,owl,12,10,100,100,,\n"
    )
    answers = _write(tmp_path / "b.csv", text)
    out = tmp_path / "out.manifest"
    argv = ["boxes", answers, "--format", "manifest", "-a", "owls", "-o", str(out)]
    argv += ["--manifest", _manifest_for(tmp_path, 2)]
    assert main(argv) == 1  # a box label without image_size is no Ground Truth label
    assert "1 image(s) of unknown size, e.g. item '1'" in capsys.readouterr().err
    assert not out.exists()
    assert main([*argv, "--on-error", "skip"]) == 0
    assert "labelled 1, 1 of unknown image size (not written)" in capsys.readouterr().err
    first, second = _lines(out)
    assert first["owls"]["image_size"] == [{"width": 640, "height": 480, "depth": 3}]
    assert "owls" not in second


# -------------------------------------------------------------------------------------------------
# workers, simulate, evaluate
# -------------------------------------------------------------------------------------------------


def test_simulate_writes_answers_and_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, truth = tmp_path / "a.csv", tmp_path / "g.csv"
    argv = ["simulate", "--n-items", "50", "--n-workers", "8", "--answers-per-item", "3"]
    argv += ["--classes", "yes,no", "--worker-mix", "reliable=0.75,spammer=0.25", "--seed", "4"]
    assert main([*argv, "-o", str(out), "--truth", str(truth)]) == 0
    rows = _csv(out.read_text())
    gold = _csv(truth.read_text())
    assert len(rows) == 150
    assert len(gold) == 50
    assert {r["label"] for r in rows} <= {"yes", "no"}
    assert {r["worker"] for r in rows} <= {f"w{k}" for k in range(8)}
    assert capsys.readouterr().err.strip() == (
        "gt-consolidate simulate: written 150 answers (50 items, 8 workers: reliable 6, "
        f"spammer 2; 2 classes), truth in {truth}"
    )
    assert main([*argv]) == 0  # same seed, same crowd, on stdout
    assert capsys.readouterr().out == out.read_text()
    assert main(["simulate", "--worker-mix", "reliable"]) == 2
    assert main(["simulate", "--n-workers", "2", "--answers-per-item", "3"]) == 2
    assert "--answers-per-item 3: expected" in capsys.readouterr().err  # the option, not the API
    assert main(["simulate", "--copiers", "1", "--copied", "2"]) == 2
    assert "--copied 2.0: expected a finite number in (0, 1]" in capsys.readouterr().err
    assert main(["simulate", "--classes", "a,b,a"]) == 2
    assert "--classes a,b,a: a class is named twice" in capsys.readouterr().err


def test_outputs_are_checked_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = ["simulate", "--n-items", "20", "--n-workers", "5", "--answers-per-item", "3", "-q"]
    out = tmp_path / "a.csv"
    # a truth file in a missing folder: usage error, and the answers are not written either
    assert main([*sim, "-o", str(out), "--truth", str(tmp_path / "no" / "g.csv")]) == 2
    assert f"{tmp_path / 'no' / 'g.csv'}: no such file or folder" in capsys.readouterr().err
    assert not out.exists()
    # the same file twice would keep only the truth
    assert main([*sim, "-o", str(out), "--truth", str(tmp_path / "." / "a.csv")]) == 2
    assert "the same file as -o/--output" in capsys.readouterr().err
    assert not out.exists()
    assert main([*sim, "--truth", "-"]) == 2  # the answers already take stdout
    assert "-o/--output and --truth both name standard output (-)" in capsys.readouterr().err
    # '-' means stdout for a second output once the first goes to a file
    assert main([*sim, "-o", str(out), "--truth", "-"]) == 0
    truth = _csv(capsys.readouterr().out)
    assert len(truth) == 20
    assert set(truth[0]) == {"item", "label"}
    assert not (tmp_path / "-").exists()
    # an output that would overwrite the input it reads
    assert main(["classify", str(out), "-m", "mv", "-o", str(out)]) == 2
    assert "the same file as the input" in capsys.readouterr().err
    assert len(_csv(out.read_text())) == 60
    # the worker report as CSV on stdout, the table in a file
    table = tmp_path / "workers.txt"
    assert main(["workers", str(out), "-m", "mv", "-q", "-o", str(table), "--csv", "-"]) == 0
    report = _csv(capsys.readouterr().out)
    assert len(report) == 5
    assert "worker" in report[0]
    assert table.read_text().startswith("worker")
    assert main(["workers", str(out), "-m", "ds", "--png", "-"]) == 2
    assert "--png -: give a file path" in capsys.readouterr().err


def test_simulate_adds_copiers_who_repeat_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["simulate", "--n-items", "40", "--n-workers", "10", "--answers-per-item", "3", "-q"]
    assert main(base) == 0
    plain = _csv(capsys.readouterr().out)
    assert main([*base, "--copiers", "2", "--copied", "0.3"]) == 0  # 3 workers, 2 copiers each
    rows = _csv(capsys.readouterr().out)
    assert rows[: len(plain)] == plain  # the crowd itself is unchanged, its copiers follow
    copies = rows[len(plain) :]
    assert {r["worker"] for r in copies} == {f"w{k}" for k in range(10, 16)}
    leaders: dict[str, set[tuple[str, str]]] = {}
    for r in plain:
        leaders.setdefault(r["worker"], set()).add((r["item"], r["label"]))
    for copier in {r["worker"] for r in copies}:  # exact copies: one worker's answers, again
        mine = {(r["item"], r["label"]) for r in copies if r["worker"] == copier}
        assert mine in leaders.values()
    assert main([*base, "--copiers", "1", "--fidelity", "0.5"]) == 0
    assert len(_csv(capsys.readouterr().out)) == 2 * len(plain)
    # Usage errors name what is wrong.
    assert main([*base, "--fidelity", "0.5"]) == 2
    assert "--copied and --fidelity need --copiers" in capsys.readouterr().err
    assert main([*base, "--copiers", "1", "--copied", "0"]) == 2
    assert "--copied 0.0: expected" in capsys.readouterr().err
    assert main([*base, "--copiers", "0"]) == 2


def test_evaluate_scores_methods_against_gold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers, gold = tmp_path / "a.csv", tmp_path / "g.csv"
    argv = ["simulate", "--n-items", "300", "--n-workers", "15", "--seed", "2"]
    assert main([*argv, "-o", str(answers), "--truth", str(gold), "-q"]) == 0
    assert main(["evaluate", str(answers), "--gold", str(gold), "--methods", "mv,mds"]) == 0
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert table[0].split()[:3] == ["method", "correct", "accuracy"]
    scores = {line.split()[0]: line.split()[1] for line in table[1:]}
    assert set(scores) == {"mv", "mds"}
    hits = {m: int(s.split("/")[0]) for m, s in scores.items()}
    assert all(s.endswith("/300") for s in scores.values())
    assert hits["mds"] >= hits["mv"] >= 240
    assert "300 gold labels, written 2 method rows" in captured.err
    assert main(["evaluate", str(answers), "--gold", str(gold), "--methods", "mv,zz"]) == 2
    assert main(["evaluate", str(answers), "--gold", str(gold), "--methods", " ,"]) == 2
    assert "--methods: no method given" in capsys.readouterr().err


def test_evaluate_default_methods(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = _write(tmp_path / "a.csv", ANSWERS)
    gold = _write(tmp_path / "g.csv", "item,label\ni1,cat\ni2,dog\ni3,fox\ni4,cat\n")
    assert main(["evaluate", answers, "--gold", gold]) == 0
    methods = [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]]
    expected = ["mv", "ds", "mds"]
    if hasattr(consolidation, "default_estimator"):
        expected.append("default")
    assert methods == expected


def test_evaluate_says_which_gold_labels_it_could_not_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = _write(tmp_path / "a.csv", ANSWERS)
    gold = _write(tmp_path / "g.csv", "item,label\ni1,cat\ni2,dog\nnosuch,cat\ni3,emu\n")
    assert main(["evaluate", answers, "--gold", gold, "--methods", "mv"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].split()[1].endswith("/3")  # i1, i2, i3 (emu: wrong)
    assert (
        "4 gold labels (1 of items without answers: not scored) "
        "(1 not a class of the answers: scored wrong, left out of the ECE)"
    ) in captured.err


def test_workers_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "a.csv"
    argv = ["simulate", "--n-items", "200", "--n-workers", "6", "--seed", "5", "-q"]
    assert main([*argv, "--worker-mix", "reliable=0.5,spammer=0.5", "-o", str(answers)]) == 0
    report = tmp_path / "workers.csv"
    assert main(["workers", str(answers), "-m", "mds", "--csv", str(report)]) == 0
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert table[0].split()[0] == "worker"
    assert len(table) == 1 + 6
    rows = _csv(report.read_text())
    assert {r["worker"] for r in rows} == {f"w{k}" for k in range(6)}
    assert "6 workers" in captured.err
    assert main(["workers", str(answers), "-m", "mds", "--top", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_workers_copying_writes_the_pairs_of_copiers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers, pairs = tmp_path / "a.csv", tmp_path / "pairs.csv"
    argv = ["simulate", "--n-items", "600", "--n-workers", "12", "--answers-per-item", "6"]
    argv += ["--worker-mix", "reliable=0.3,sloppy=0.4,spammer=0.3"]
    argv += ["--copiers", "1", "--copied", "0.25"]
    assert main([*argv, "--seed", "3", "-o", str(answers), "-q"]) == 0
    rows = _csv(answers.read_text())
    items_of: dict[str, set[tuple[str, str]]] = {}
    for r in rows:
        items_of.setdefault(r["worker"], set()).add((r["item"], r["label"]))
    copied = {  # (leader, copier): a copier's answers are exactly its leader's
        (w, c)
        for c in ("w12", "w13", "w14")
        for w in items_of
        if w != c and items_of[w] == items_of[c]
    }
    assert len(copied) == 3
    for method in ("ds", "default"):
        assert main(["workers", str(answers), "-m", method, "--copying", str(pairs)]) == 0
        found = {(r["worker_a"], r["worker_b"]) for r in _csv(pairs.read_text())}
        assert found == copied
        err = capsys.readouterr().err
        assert f"3 copying pairs in {pairs}" in err
    assert main(["workers", str(answers), "-m", "mv", "--copying", str(pairs)]) == 2
    assert "--copying needs a method with confusion matrices" in capsys.readouterr().err


def test_classify_drop_copies_fits_again_without_the_copies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers, truth = tmp_path / "a.csv", tmp_path / "t.csv"
    argv = ["simulate", "--n-items", "600", "--n-workers", "12", "--answers-per-item", "6"]
    argv += ["--worker-mix", "reliable=0.3,sloppy=0.4,spammer=0.3", "--copiers", "1"]
    argv += ["--copied", "0.25", "--seed", "3", "-o", str(answers), "--truth", str(truth), "-q"]
    assert main(argv) == 0
    gold = {r["item"]: r["label"] for r in _csv(truth.read_text())}

    def accuracy(rows: list[dict[str, str]]) -> float:
        return sum(gold[r["item"]] == r["label"] for r in rows) / len(rows)

    for method in ("ds", "default"):
        assert main(["classify", str(answers), "-m", method]) == 0
        plain = _csv(capsys.readouterr().out)
        assert main(["classify", str(answers), "-m", method, "--drop-copies"]) == 0
        out, err = capsys.readouterr()
        assert ", 892 answers of copies dropped" in err  # the three copiers' answers
        assert [r["item"] for r in _csv(out)] == [r["item"] for r in plain]  # every item
        assert accuracy(_csv(out)) > accuracy(plain) + 0.03
    assert main(["classify", str(answers), "-m", "mv", "--drop-copies"]) == 2
    assert "--drop-copies needs a method with confusion matrices" in capsys.readouterr().err
    state = str(tmp_path / "s.json")
    assert main(["classify", str(answers), "-m", "ds", "--drop-copies", "--state", state]) == 2


def test_workers_png_without_matplotlib(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    answers = _write(tmp_path / "a.csv", ANSWERS)
    assert main(["workers", answers, "-m", "mds", "--png", str(tmp_path / "c.png")]) == 2
    assert "--png needs matplotlib" in capsys.readouterr().err


# -------------------------------------------------------------------------------------------------
# lambda, demo
# -------------------------------------------------------------------------------------------------


def test_lambda_on_the_aws_sample_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event = json.loads((LAMBDA / "annotation_consolidation_test_event.json").read_text())
    event["payload"]["s3Uri"] = "payload.json"  # relative to the event file
    (tmp_path / "payload.json").write_bytes(
        (LAMBDA / "sample_annotation_consolidation_payload.json").read_bytes()
    )
    path = _write(tmp_path / "event.json", json.dumps(event))
    assert main(["lambda", path]) == 0
    captured = capsys.readouterr()
    response = json.loads(captured.out)
    assert [r["datasetObjectId"] for r in response] == ["0", "2"]
    content = response[0]["consolidatedAnnotation"]["content"]
    assert content["test-label-attribute-metadata"]["type"] == "groundtruth/object-detection"
    assert "read 2 data objects, written 2, skipped 0" in captured.err
    # a gzipped payload is read whatever its name, as the handler reads it
    event["payload"]["s3Uri"] = "payload-gzipped.json"
    (tmp_path / "payload-gzipped.json").write_bytes(
        gzip.compress((tmp_path / "payload.json").read_bytes())
    )
    zipped = _write(tmp_path / "event-gz.json", json.dumps(event))
    assert main(["lambda", zipped, "-q"]) == 0
    again = json.loads(capsys.readouterr().out)
    for r in (*again, *response):  # the same but for the time of writing
        r["consolidatedAnnotation"]["content"]["test-label-attribute-metadata"].pop("creation-date")
    assert again == response
    out = tmp_path / "response.json"
    assert main(["lambda", path, "--output-format", "custom", "-o", str(out), "-q"]) == 0
    custom = json.loads(out.read_text())
    assert set(custom[0]["consolidatedAnnotation"]["content"]["test-label-attribute"]) == {
        "boundingBoxes"
    }


def test_lambda_inline_payload_state_and_skipped_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def answer(worker: str, label: str) -> dict[str, Any]:
        content = json.dumps({"crowd-image-classifier": {"label": label}})
        return {"workerId": worker, "annotationData": {"content": content}}

    payload = [
        {"datasetObjectId": "0", "annotations": [answer("a", "Owl"), answer("b", "Owl")]},
        {"datasetObjectId": "1", "annotations": [answer("a", "Duck"), answer("b", "Heron")]},
    ]
    event = {"labelAttributeName": "birds", "labelCategories": ["Owl", "Duck"], "payload": payload}
    path = _write(tmp_path / "event.json", json.dumps(event))
    state = tmp_path / "state.json"
    assert main(["lambda", path, "--method", "mds", "--state", str(state), "--indent", "0"]) == 0
    captured = capsys.readouterr()
    (element,) = json.loads(captured.out)
    assert element["consolidatedAnnotation"]["content"]["birds-metadata"]["class-name"] == "Owl"
    assert "datasetObjectId 1 skipped" in captured.err
    assert "'Heron'" in captured.err
    assert "read 2 data objects, written 1, skipped 1" in captured.err
    assert json.loads(state.read_text())["classes"] == ["Owl", "Duck"]


def test_lambda_bad_event_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "event.json", json.dumps({"payload": []}))
    assert main(["lambda", path]) == 1
    assert capsys.readouterr().err.strip() == (
        f"gt-consolidate: {path}: the event has no labelAttributeName"
    )
    path = _write(tmp_path / "event.json", json.dumps({"payload": {"s3Uri": "nope.json"}}))
    assert main(["lambda", path]) == 1
    assert f"{path}: payload.s3Uri: nope.json: no such file" in capsys.readouterr().err
    assert main(["lambda", _write(tmp_path / "broken.json", "{")]) == 1
    assert "not valid JSON" in capsys.readouterr().err


def test_demo_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "birds.manifest"
    assert main(["demo", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "majority vote" in text
    assert "274/302" in text
    assert "Modified Dawid-Skene (AWS)" in text
    assert "273/302" in text
    assert "Lambda handler, 2 batches, worker state" in text
    service_row = next(x for x in text.splitlines() if x.startswith("the real service"))
    assert service_row.split()[-3:] == ["272/302", "90.1%", "-"]
    assert f"wrote {out}: 302 lines" in text
    lines = _lines(out)
    assert len(lines) == 302
    assert all("birds" in x and "birds-metadata" in x for x in lines)
    service = _service_labels()
    agree = sum(x["birds-metadata"]["class-name"] == s for x, s in zip(lines, service, strict=True))
    assert agree >= 295


# -------------------------------------------------------------------------------------------------
# end to end, through a subprocess
# -------------------------------------------------------------------------------------------------


def test_subprocess_demo_from_another_directory(tmp_path: Path) -> None:
    done = _run("-m", "consolidation.cli", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote birds-output.manifest: 302 lines" in done.stdout
    assert "Traceback" not in done.stderr
    _validate(tmp_path / "birds-output.manifest")


def test_subprocess_classify_dataset_csv(tmp_path: Path) -> None:
    answers = dataset_path("zheng_d_product", "answers.csv")
    gold = {
        r["item"]: r["label"]
        for r in csv.DictReader(dataset_path("zheng_d_product", "gold.csv").open())
    }
    out = tmp_path / "labels.csv"
    done = _run("-m", "consolidation.cli", "classify", str(answers), "-m", "mds", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "classify: read 24945 answers (8315 items, 176 workers, 2 classes)" in done.stderr
    rows = _csv(out.read_text())
    assert len(rows) == 8315
    hits = sum(r["label"] == gold[r["item"]] for r in rows if r["item"] in gold)
    assert hits / len(gold) > 0.88


def test_subprocess_boxes_payload_to_valid_manifest(tmp_path: Path) -> None:
    payload, _ = _box_payload(tmp_path)
    out = tmp_path / "out.manifest"
    done = _run(
        "-m", "consolidation.cli", "boxes", payload, "--format", "manifest", "-a", "vehicles",
        "--manifest", _manifest_for(tmp_path, 8), "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "written 8, labelled 8, rejected 0" in done.stderr
    _validate(out)


def test_subprocess_bad_input_has_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.json", "[{]")
    done = _run("-m", "consolidation.cli", "classify", path, "-m", "mv")
    assert done.returncode == 1
    assert done.stderr.startswith(f"gt-consolidate: {path}: <file>: not valid JSON")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("given", [["--iou-threshold", "2"], ["--iou-threshold=2"]])
def test_a_bad_option_value_is_named_by_its_option(
    given: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    payload = str(Path(__file__).parent / "data" / "manifests" / "gt-recipe-payload.json")
    assert main(["boxes", payload, *given]) == 2
    bad = capsys.readouterr()
    assert bad.out == ""
    assert "gt-consolidate: --iou-threshold 2.0: expected a finite number in (0, 1]" in bad.err
    assert "parameter" not in bad.err
