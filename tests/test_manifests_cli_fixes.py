"""gt-manifest: refused options, output paths, exit codes and messages (reviewer's reports)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from manifests.cli import main

DATA = Path(__file__).parent / "data" / "manifests"
PIER = str(DATA / "pier.manifest")


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


# -------------------------------------------------------------------------------------------------
# split: the -o template
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("x_{name}_{bogus}.m", "unknown placeholder {bogus}"),
        ("x_{0}{name}.m", "unknown placeholder {0}"),
        ("x_{name.upper}.m", "unknown placeholder {name.upper}"),
        ("x_{name", "bad template"),
        ("x_{{name}}.m", "needs -o with a {name} placeholder"),
    ],
)
def test_split_template_placeholders_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str, message: str
) -> None:
    out = str(tmp_path / template)
    assert main(["split", PIER, "--part", "a=0.5,b=0.5", "-o", out]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_split_refuses_two_parts_on_one_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = str(tmp_path / "{name}.m")
    assert main(["split", PIER, "--part", "a=0.5", "--part", "./a=0.5", "-o", template]) == 2
    assert "parts 'a' and './a' would both be written to" in capsys.readouterr().err
    assert main(["split", PIER, "--part", "a=0.5,a=0.5", "-o", template]) == 2
    assert "part names must be distinct, a repeated" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_split_creates_part_folders_and_lists_parts_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = str(tmp_path / "split" / "{name}" / "part.manifest")
    assert main(["split", PIER, "--part", "b=0.5,a=0.5", "--seed", "1", "-o", template]) == 0
    b = _lines(tmp_path / "split" / "b" / "part.manifest")
    a = _lines(tmp_path / "split" / "a" / "part.manifest")
    assert len(a) + len(b) == 6
    summary = capsys.readouterr().err.strip()
    assert summary.endswith(f"written 6, filtered 0, rejected 0, blank 0; b {len(b)}, a {len(a)}")


# -------------------------------------------------------------------------------------------------
# paths: missing output folders, directories where a file is expected
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["filter", PIER],
        ["validate", PIER],
        ["rename-attribute", PIER, "--from", "pier", "--to", "pier-v1"],
        ["stats", PIER],
        ["responses", str(DATA / "gt-recipe-payload.json")],
    ],
)
def test_missing_output_folder_names_the_users_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    out = tmp_path / "nodir" / "x.manifest"
    assert main([*command, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gt-manifest: {out}: no such file or folder")
    assert ".tmp-" not in err
    assert list(tmp_path.iterdir()) == []


def test_directory_where_a_file_is_expected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"gt-manifest: {tmp_path}: is a directory, not a manifest file\n"
    assert main(["filter", PIER, "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"gt-manifest: {tmp_path}: is a directory\n"
    labels = ["--map", "duck=bird", "--labels", str(tmp_path)]
    assert main(["rename-classes", PIER, "-a", "pier", *labels]) == 2
    assert capsys.readouterr().err == f"gt-manifest: {tmp_path}: is a directory, not a label list\n"
    assert list(tmp_path.iterdir()) == []
