"""Responses: s3:// failures, --iteration, help text, row order (reviewer's reports)."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, NoReturn

import pytest

from manifests.errors import ManifestError
from manifests.io import Accounting
from manifests.responses import load_json_uri, read_payload

REPO = Path(__file__).resolve().parents[1]


class NoCredentialsError(Exception):
    """Stands in for botocore.exceptions.NoCredentialsError (botocore is not needed here)."""


def _fake_boto3(monkeypatch: pytest.MonkeyPatch, failure: BaseException, where: str) -> None:
    def fail(*args: Any, **kwargs: Any) -> NoReturn:
        raise failure

    class Body:
        def read(self) -> bytes:
            fail()

    class Client:
        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
            if where == "get_object":
                fail()
            return {"Body": Body()}

    fake = types.ModuleType("boto3")
    fake.client = fail if where == "client" else (lambda name: Client())  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boto3", fake)


@pytest.mark.parametrize("where", ["client", "get_object", "read"])
@pytest.mark.parametrize(
    "failure",
    [NoCredentialsError("Unable to locate credentials"), OSError("network is unreachable")],
)
def test_s3_failures_become_a_manifest_error_naming_the_uri(
    monkeypatch: pytest.MonkeyPatch, failure: Exception, where: str
) -> None:
    _fake_boto3(monkeypatch, failure, where)
    with pytest.raises(ManifestError) as info:
        load_json_uri("s3://bucket/key.json")
    name = type(failure).__name__
    assert str(info.value) == f"s3://bucket/key.json: cannot read: {name}: {failure}"
    assert info.value.__cause__ is failure


def test_s3_without_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 -> ImportError
    with pytest.raises(ManifestError, match=r"^s3://b/k: cannot read: boto3 is not installed$"):
        load_json_uri("s3://b/k")


def test_s3_failure_in_an_annotation_is_rejected_there(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_boto3(monkeypatch, NoCredentialsError("Unable to locate credentials"), "client")
    payload = [
        {
            "datasetObjectId": "1",
            "annotations": [{"workerId": "w", "annotationData": {"s3Uri": "s3://b/a.json"}}],
        }
    ]
    acc = Accounting(on_error="collect")
    assert list(read_payload(payload, accounting=acc)) == []
    assert (acc.read, acc.rejected) == (1, 1)
    assert str(acc.rejections[0]) == (
        "<payload>: [0].annotations[0].annotationData: cannot decode the answer: "
        "s3://b/a.json: cannot read: NoCredentialsError: Unable to locate credentials"
    )


def test_responses_module_imports_neither_boto3_nor_botocore() -> None:
    code = (
        "import sys, manifests.responses, manifests.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"


def test_cli_reports_an_s3_failure_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from manifests.cli import main

    _fake_boto3(monkeypatch, NoCredentialsError("Unable to locate credentials"), "get_object")
    assert main(["responses", "s3://bucket/payload.json"]) == 1
    assert capsys.readouterr().err == (
        "gt-manifest: s3://bucket/payload.json: cannot read: NoCredentialsError: "
        "Unable to locate credentials\n"
    )


def _folder(tmp_path: Path) -> Path:
    for n in (1, 3):
        item = tmp_path / "worker-response" / f"iteration-{n}" / "5"
        item.mkdir(parents=True)
        (item / "2019-04-18_16:12:00.json").write_text(
            '{"answers": [{"answerContent": {"crowd-image-classifier": {"label": "Owl"}},'
            f' "workerId": "w{n}"}}]}}',
            encoding="utf-8",
        )
    return tmp_path


def test_responses_unknown_iteration_names_the_ones_that_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from manifests.cli import main
    from manifests.responses import worker_response_iterations

    root = _folder(tmp_path)
    assert worker_response_iterations(root) == [1, 3]
    assert main(["responses", str(root), "--iteration", "7"]) == 2
    assert capsys.readouterr().err == (
        f"gt-manifest: --iteration 7: {root} has no such iteration (it has iterations 1, 3)\n"
    )
    assert (
        main(["responses", str(root / "worker-response" / "iteration-3"), "--iteration", "1"]) == 2
    )
    assert "(it has iteration 3)" in capsys.readouterr().err
    assert main(["responses", str(root), "--iteration", "3", "-q"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["worker"], r["iteration"]) for r in rows] == [("w3", 3)]


def test_responses_iteration_with_a_payload_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from manifests.cli import main

    payload = str(REPO / "tests" / "data" / "manifests" / "gt-recipe-payload.json")
    assert main(["responses", payload, "--iteration", "1"]) == 2
    assert "is a payload" in capsys.readouterr().err
    assert main(["responses", payload, "--iteration", "-1"]) == 2
    assert "expected a whole number >= 0, got '-1'" in capsys.readouterr().err


def test_responses_help_describes_its_input(capsys: pytest.CaptureFixture[str]) -> None:
    from manifests.cli import main

    assert main(["responses", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "input manifest path" not in text
    assert "a worker-response folder" in text
    assert "consolidation-request payload" in text


@pytest.mark.shared
def test_responses_rows_are_answers_csv_in_folder_order(tmp_path: Path) -> None:
    """What the README says: the same rows; answers.csv is sorted by item, then worker."""
    import csv

    from manifests.cli import main
    from tests.conftest import dataset_path

    folder = dataset_path("groundtruth", "birds-ic-mturk5", "worker-response")
    labels = "Duck,Sparrow,Woodpecker,Owl,Parrot,Turkey,Falcon,Swan,Goose,Canary"
    out = tmp_path / "answers.csv"
    argv = ["responses", str(folder), "--task", "classification", "--format", "csv", "-q"]
    assert main([*argv, "--labels", labels, "-o", str(out)]) == 0
    mine = list(csv.reader(out.open()))[1:]
    theirs = list(csv.reader((folder.parent / "answers.csv").open()))[1:]
    assert len(mine) == len(theirs) == 1510
    assert mine != theirs  # not the same order ...
    assert sorted(mine, key=lambda r: (int(r[0]), r[1])) == theirs  # ... the same sorted rows


def test_responses_labels_without_a_task_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from manifests.cli import main

    root = _folder(tmp_path)
    assert main(["responses", str(root), "--labels", "Owl,Duck"]) == 2  # raw rows: ignored before
    assert "--labels needs --task" in capsys.readouterr().err
    assert main(["responses", str(root), "--labels", "Duck,Owl", "--task", "classification"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {r["label"] for r in rows} == {1}  # Owl is label 1 of the list
