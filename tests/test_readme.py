"""Every Python example in README.md runs and prints exactly the output shown under it."""

from __future__ import annotations

import contextlib
import io
import itertools
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def _examples() -> list[tuple[str, str]]:
    """(code, output) for every ```python block directly followed by a ```text block."""
    text = README.read_text("utf-8")
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    pairs = []
    for (lang, code, _, end), (next_lang, out, start, _) in itertools.pairwise(blocks):
        if lang == "python" and next_lang == "text" and not text[end:start].strip():
            pairs.append((code, out))
    return pairs


EXAMPLES = _examples()


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize(
    ("code", "expected"), EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))]
)
def test_readme_example_output(
    code: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # examples may write files
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    assert out.getvalue().strip() == expected.strip()
