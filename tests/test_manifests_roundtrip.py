"""Every real Ground Truth artifact survives read then write (skipped without ../shared)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from manifests import Accounting, read, write
from tests.conftest import GROUNDTRUTH, dataset_path

pytestmark = pytest.mark.shared

# JSON Lines artifacts: the manifests, plus the one-line JSON objects (SeqLabel.json, worker
# responses). The Lambda events and the payload are multi-line JSON documents, not JSON Lines.
MANIFESTS = sorted(str(p.relative_to(GROUNDTRUTH)) for p in GROUNDTRUTH.glob("*/*.manifest")) or [
    "absent"
]
ONE_LINE = ["video-tracking-seqlabel/SeqLabel.json"]


def _roundtrip(path: Path, *, verbatim: bool) -> tuple[list[str], list[str], Accounting]:
    acc = Accounting()
    out = io.StringIO()
    write(read(path, accounting=acc, max_line_length=None), out, accounting=acc, verbatim=verbatim)
    acc.check()
    before = [x for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]
    return before, out.getvalue().split("\n")[:-1], acc


@pytest.mark.parametrize("name", MANIFESTS + ONE_LINE)
def test_real_artifact_roundtrips(name: str) -> None:
    path = dataset_path("groundtruth", *name.split("/"))
    for verbatim in (True, False):
        before, after, acc = _roundtrip(path, verbatim=verbatim)
        assert len(after) == len(before) == acc.read == acc.written
        assert acc.rejected == acc.filtered == 0
        for old, new in zip(before, after, strict=True):
            assert json.loads(new) == json.loads(old)  # JSON-equal, same order
            assert list(json.loads(new)) == list(json.loads(old))  # same key order
            if verbatim:
                assert new == old  # unchanged lines are copied byte for byte
            else:
                assert new == json.dumps(json.loads(old), separators=(",", ":"), ensure_ascii=False)


def test_real_manifests_are_written_back_byte_identical(tmp_path: Path) -> None:
    for name in MANIFESTS:
        path = dataset_path("groundtruth", *name.split("/"))
        target = tmp_path / "copy.manifest"
        write(read(path), target)
        assert target.read_bytes() == path.read_bytes(), name


def test_zero_width_space_survives() -> None:
    path = dataset_path("groundtruth", "banana-ic", "output.manifest")
    refs = [r["source-ref"] for r in read(path)]
    assert sum("\u200b" in ref for ref in refs) > 0
    out = io.StringIO()
    write(read(path), out, verbatim=False)
    assert [json.loads(x)["source-ref"] for x in out.getvalue().split("\n")[:-1]] == refs
    assert out.getvalue().count("\u200b") == sum(ref.count("\u200b") for ref in refs)


def test_worker_response_files_roundtrip() -> None:
    folder = dataset_path("groundtruth", "birds-ic-mturk5", "worker-response")
    files = sorted(folder.rglob("*.json"))
    assert len(files) == 302
    for path in files:
        before, after, _ = _roundtrip(path, verbatim=False)
        assert [json.loads(x) for x in after] == [json.loads(x) for x in before]
