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
    assert (
        capsys.readouterr().err == f"gt-manifest: {tmp_path}: is a directory, not a manifest file\n"
    )
    assert main(["filter", PIER, "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"gt-manifest: {tmp_path}: is a directory\n"
    labels = ["--map", "duck=bird", "--labels", str(tmp_path)]
    assert main(["rename-classes", PIER, "-a", "pier", *labels]) == 2
    assert capsys.readouterr().err == f"gt-manifest: {tmp_path}: is a directory, not a label list\n"
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------------------------------
# several label attributes and no -a: one usage error, whatever --on-error says
# -------------------------------------------------------------------------------------------------


def _two_attributes(tmp_path: Path) -> Path:
    """pier.manifest with a second label attribute ('copy') on every labelled line; line 4 bad."""
    lines = []
    for text in Path(PIER).read_text(encoding="utf-8").splitlines():
        rec = json.loads(text)
        rec["copy"], rec["copy-metadata"] = rec.get("pier"), rec["pier-metadata"]
        lines.append(json.dumps(rec))
    lines[3] = lines[3][:30]  # a genuinely invalid line stays a per-line problem
    path = tmp_path / "two.manifest"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["filter", "--human", "yes"],
        ["filter", "--min-confidence", "0.5"],
        ["drop-classes", "-c", "duck"],
        ["rename-classes", "--map", "duck=bird", "--labels", str(DATA / "pier-labels.json")],
        ["remap-ids", "--map", "0=1", "--map", "1=0"],
        ["remap-ids", "--compact"],
    ],
)
@pytest.mark.parametrize("on_error", [[], ["--on-error", "skip"]])
def test_several_label_attributes_without_a_is_one_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], on_error: list[str]
) -> None:
    path = _two_attributes(tmp_path)
    out = tmp_path / "out.manifest"
    assert main([command[0], str(path), *command[1:], *on_error, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"gt-manifest: {path}:1: 2 label attributes (pier, copy): choose one with -a/--attribute\n"
    )
    assert not out.exists()
    # with -a the same command runs; the broken line 4 is reported on its own
    argv = [command[0], str(path), *command[1:], "-a", "pier", "--on-error", "skip"]
    assert main([*argv, "-o", str(out)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert next(x for x in lines if x.startswith(f"{path}:")).startswith(
        f"{path}:4: <line>: invalid"
    )
    assert "rejected 1" in lines[-1]
    assert out.exists()


def test_library_raises_ambiguity_once_even_when_collecting() -> None:
    import pickle

    from manifests import Accounting, AmbiguousLabelError, InvalidLineError, read
    from manifests.transforms import filter_records

    line = json.loads(Path(PIER).read_text(encoding="utf-8").splitlines()[0])
    line["copy"], line["copy-metadata"] = line["pier"], line["pier-metadata"]
    acc = Accounting(on_error="collect")
    records = read([json.dumps(line)] * 3, accounting=acc)
    with pytest.raises(AmbiguousLabelError) as info:
        list(filter_records(records, human_annotated=True, accounting=acc))
    assert isinstance(info.value, InvalidLineError)
    assert (info.value.source, info.value.lineno, info.value.attributes) == (
        "<lines>",
        1,
        ("pier", "copy"),
    )
    assert acc.rejected == 0
    assert acc.rejections == []
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is AmbiguousLabelError
    assert str(again) == str(info.value)


# -------------------------------------------------------------------------------------------------
# broken pipe: 141, silently
# -------------------------------------------------------------------------------------------------


def test_run_command_broken_pipe_is_141(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from manifests._cli_util import run_command

    messages: list[str] = []

    def command() -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", sys.stdout)  # run_command replaces it: undo afterwards
    assert run_command(command, messages.append, invalid=(OSError,), usage=(OSError,)) == 141
    assert messages == []


@pytest.mark.parametrize(
    ("flags", "lines"),
    [
        ([], 20000),  # far more than a pipe holds: a write after the reader left fails
        # -u (PYTHONUNBUFFERED): one write of one batch, of which the pipe takes only a part;
        # the rest must not be dropped in silence
        (["-u"], 500),
    ],
)
def test_reader_going_away_exits_141_without_a_message(
    tmp_path: Path, flags: list[str], lines: int
) -> None:
    import os
    import subprocess
    import sys

    line = Path(PIER).read_text(encoding="utf-8").splitlines()[0]
    big = tmp_path / "big.manifest"
    big.write_text((line + "\n") * lines, encoding="utf-8")
    repo = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen(
        [sys.executable, *flags, "-m", "manifests.cli", "validate", str(big), "-o", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": repo},
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.read(100) == line[:100].encode()
    proc.stdout.close()  # like `| head -c 100`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""


@pytest.mark.parametrize("command", [["validate"], ["drop-classes", "-c", "no-such-class"]])
def test_a_stream_in_is_a_stream_out(command: list[str]) -> None:
    """Reading stdin, every kept line is written as soon as it is read (a streaming job)."""
    import os
    import select
    import subprocess
    import sys

    line = Path(PIER).read_text(encoding="utf-8").splitlines()[0]
    repo = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "manifests.cli", command[0], "-", *command[1:], "-o", "-", "-q"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": repo},
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        for _ in range(3):
            proc.stdin.write((line + "\n").encode())
            proc.stdin.flush()
            # Each line comes back while the input is still open (it was held for 512 lines).
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, "no line out while the input stays open"
            assert proc.stdout.readline().decode().rstrip("\n") == line
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0


# -------------------------------------------------------------------------------------------------
# options refused with exit 2
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["filter", PIER, "--min-confidence", "1.5"],
            "--min-confidence: expected a number in [0, 1], got '1.5'",
        ),
        (
            ["filter", PIER, "--min-confidence", "nan"],
            "--min-confidence: expected a number in [0, 1], got 'nan'",
        ),
        (
            ["filter", PIER, "--max-confidence", "-0.1"],
            "--max-confidence: expected a number in [0, 1]",
        ),
        (
            ["filter", PIER, "--min-confidence", "0.9", "--max-confidence", "0.1"],
            "--min-confidence 0.9 is above --max-confidence 0.1",
        ),
        (
            ["rename-classes", PIER, "-a", "pier", "--map", "duck=bird", "--map", "duck=fish"],
            "--map maps 'duck' twice, to 'bird' and to 'fish'",
        ),
        (
            ["remap-ids", PIER, "-a", "pier", "--map", "x=1"],
            "--map expects class ids OLD=NEW, whole numbers >= 0, got 'x=1'",
        ),
        (["remap-ids", PIER, "-a", "pier", "--map", "1=-1"], "got '1=-1'"),
        (
            ["remap-ids", PIER, "-a", "pier", "--map", "1=2", "--map", "01=0"],
            "--map maps 1 twice, to 2 and to 0",
        ),
        (
            ["filter", PIER, "--max-errors", "-3"],
            "--max-errors: expected a whole number >= 0, got '-3'",
        ),
        (
            ["filter", PIER, "--max-line-length", "0"],
            "--max-line-length: expected a whole number >= 1",
        ),
        (["stats", PIER, "--bins", "x"], "--bins: expected a whole number >= 1, got 'x'"),
    ],
)
def test_bad_option_values_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    out = tmp_path / "out.manifest"
    assert main([*argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert "invalid literal" not in err
    assert not out.exists()


@pytest.mark.parametrize("new", ["bad name", "a/b", "über", "a" * 128, "-a", "a-", "x_y", "a.b"])
def test_rename_attribute_refuses_names_aws_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], new: str
) -> None:
    out = tmp_path / "out.manifest"
    assert main(["rename-attribute", PIER, "--from", "pier", f"--to={new}", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gt-manifest: label attribute name {new!r}: a labelling job's")
    assert "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$" in err
    assert not out.exists()
    argv = ["to-adjustment", PIER, "-a", "pier", f"--new-attribute={new}", "-o", str(out)]
    assert main(argv) == 2
    assert not out.exists()


@pytest.mark.parametrize("new", ["a", "A9", "pier--v1", "a" * 127])
def test_rename_attribute_accepts_names_aws_accepts(tmp_path: Path, new: str) -> None:
    out = tmp_path / "out.manifest"
    assert (
        main(["rename-attribute", PIER, "--from", "pier", "--to", new, "-o", str(out), "-q"]) == 0
    )
    assert all(new + "-metadata" in rec for rec in _lines(out))


def test_the_same_mapping_twice_is_fine(tmp_path: Path) -> None:
    out = tmp_path / "out.manifest"
    argv = ["rename-classes", PIER, "-a", "pier", "--map", "duck=bird", "--map", "duck=bird"]
    assert main([*argv, "-o", str(out), "-q"]) == 0
    names: set[str] = set()
    for rec in _lines(out):
        meta = rec.get("pier-metadata")
        assert isinstance(meta, dict)
        names.update(meta.get("class-map", {}).values())
    assert "bird" in names
    assert "duck" not in names


def test_existing_names_outside_the_aws_pattern_still_validate() -> None:
    from manifests.validation import attribute_name_problems, check_attribute_name

    assert attribute_name_problems("bird_boxes") == []
    check_attribute_name("bird_boxes")  # only names of new jobs get the API pattern
    with pytest.raises(ValueError, match="LabelAttributeName"):
        check_attribute_name("bird_boxes", job_name=True)


# -------------------------------------------------------------------------------------------------
# grammar: singular for one
# -------------------------------------------------------------------------------------------------


def test_counts_of_one_are_singular(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from manifests import Accounting, read
    from manifests.validation import validate

    one = next(
        text
        for text in Path(PIER).read_text(encoding="utf-8").splitlines()
        if len(json.loads(text).get("pier", {}).get("annotations", [])) == 1
    )
    path = tmp_path / "one.manifest"
    path.write_text(one + "\n", encoding="utf-8")
    assert main(["stats", str(path), "-q"]) == 0
    assert "  boxes: 1 in 1 image\n" in capsys.readouterr().out

    rec = json.loads(one)
    rec["pier-metadata"]["objects"] = []
    acc = Accounting(on_error="collect", max_rejections=0)
    assert list(validate(read([json.dumps(rec)] * 2, accounting=acc), accounting=acc)) == []
    assert acc.summary().endswith("rejected 2, blank 0")
    acc = Accounting(on_error="collect", max_rejections=1)
    list(validate(read([json.dumps(rec)] * 2, accounting=acc), accounting=acc))
    assert str(acc.rejections[0]).endswith("pier-metadata.objects: 0 objects for 1 annotation")
    assert acc.summary().endswith("(1 rejection not listed)")


# -------------------------------------------------------------------------------------------------
# --labels-out: checked before the manifest is written
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["rename-classes", "remap-ids"])
def test_labels_out_is_checked_before_any_line_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out = tmp_path / "o.manifest"
    change = (
        ["--map", "duck=bird"] if command == "rename-classes" else ["--map", "0=2", "--map", "2=0"]
    )
    argv = [command, PIER, *change, "--labels", "heron,gull,duck", "-o", str(out)]
    missing = tmp_path / "no" / "labels.json"
    assert main([*argv, "--labels-out", str(missing)]) == 2
    assert f"{missing}: no such file or folder" in capsys.readouterr().err
    assert not out.exists()  # no manifest without its label file
    assert main([*argv, "--labels-out", str(out)]) == 2
    assert "the same file as -o/--output" in capsys.readouterr().err
    assert main([*argv, "--labels-out", str(tmp_path / "labels.json")]) == 0
    assert out.exists()


def test_help_lists_the_job_preparing_commands_in_english(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "prepare the input of an adjustment job" in out
    assert "prepare the input of a verification job" in out
