"""Standard output under ``python -u`` / ``PYTHONUNBUFFERED``: no line is lost without an error.

Unbuffered, ``sys.stdout.buffer`` is the raw file. Its ``write`` may take only part of what it
is given (the pipe's reader went away, a signal) and says so only in the count it returns, which
a text wrapper ignores: the tools then exited 0 with ``written N`` while the output was cut.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "manifests"
REPO = str(Path(__file__).resolve().parents[1])


class _ShortWrites(io.RawIOBase):
    """A raw stream that takes at most 100 bytes a call, as a pipe may."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        taken = bytes(b[:100])
        self.data += taken
        return len(taken)


def _unbuffered_stdout(monkeypatch: pytest.MonkeyPatch) -> _ShortWrites:
    """Make ``sys.stdout`` what ``python -u`` makes it, on a raw stream taking short writes.

    Called in the test itself: pytest's capture resets ``sys.stdout`` after a fixture's setup.
    """
    raw = _ShortWrites()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, write_through=True))
    return raw


def test_manifest_writer_to_unbuffered_stdout_writes_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import manifests as gm

    raw_stdout = _unbuffered_stdout(monkeypatch)

    text = (DATA / "pier.manifest").read_text(encoding="utf-8")
    assert gm.write(gm.read(str(DATA / "pier.manifest")), "-") == 6
    assert raw_stdout.data.decode() == text


def test_gt_consolidate_output_to_unbuffered_stdout_writes_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from consolidation._cli_io import output_text

    raw_stdout = _unbuffered_stdout(monkeypatch)

    with output_text("-") as out:
        out.write("x" * 1000 + "\n")
    assert raw_stdout.data.decode() == "x" * 1000 + "\n"


def test_responses_to_unbuffered_stdout_writes_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from manifests.cli import main

    raw_stdout = _unbuffered_stdout(monkeypatch)

    payload = str(DATA / "gt-recipe-payload.json")
    assert main(["responses", payload, "--task", "boxes", "--format", "csv", "-q"]) == 0
    lines = raw_stdout.data.decode().splitlines()
    assert lines[0] == "item,worker,label,left,top,width,height,image_width,image_height"
    assert len(lines) == 5  # the header and the payload's four boxes
