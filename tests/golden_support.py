"""Golden files: change detectors whose every change is a reviewed diff.

`assert_matches_golden({path: generated_text, ...})` compares each generated text with its golden file under
tests/golden/. A mismatch fails, naming each differing file and its first differing line (number, golden and
generated text). With STORE_SALES_UPDATE_GOLDEN=1 the changed files are rewritten instead, the test passes, and each
change is reported as a unified diff in a warning, which pytest prints in its warnings summary at the end of the run
(with or without -s, on any number of workers): read it as you would read any other diff before committing.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Mapping
from itertools import zip_longest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = ROOT / "tests" / "golden"
UPDATE_GOLDEN_ENV = "STORE_SALES_UPDATE_GOLDEN"


class GoldenFileUpdated(UserWarning):
    """A golden file rewritten under STORE_SALES_UPDATE_GOLDEN=1; the message is the diff of the change."""


def assert_matches_golden(generated: Mapping[Path, str]) -> None:
    """Each generated text equals its golden file (or, when updating, replaces it and reports the diff)."""
    if os.environ.get(UPDATE_GOLDEN_ENV) == "1":
        for path, text in generated.items():
            _update(path, text)
        return
    mismatches = [mismatch for path, text in generated.items() if (mismatch := _mismatch(path, text))]
    assert not mismatches, "\n".join(
        [*mismatches, f"if the change is intended, rerun with {UPDATE_GOLDEN_ENV}=1 and review the diff it reports"]
    )


def _update(path: Path, text: str) -> None:
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if old == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    name = _name(path)
    diff = difflib.unified_diff(old.splitlines(), text.splitlines(), f"a/{name}", f"b/{name}", lineterm="")
    warnings.warn(f"golden file {name} updated:\n" + "\n".join(diff), GoldenFileUpdated, stacklevel=3)


def _mismatch(path: Path, text: str) -> str | None:
    """None when `text` equals the golden file; else what differs first, for a person."""
    name = _name(path)
    if not path.is_file():
        return f"golden file {name} is missing"
    golden = path.read_text(encoding="utf-8")
    if golden == text:
        return None
    lines = zip_longest(golden.splitlines(), text.splitlines())
    for number, (expected, actual) in enumerate(lines, start=1):
        if expected != actual:
            return (
                f"golden file {name} differs at line {number}:\n"
                f"  golden:    {_line(expected)}\n"
                f"  generated: {_line(actual)}"
            )
    return f"golden file {name} differs only in its line endings or its final newline"


def _line(text: str | None) -> str:
    return "<end of file>" if text is None else repr(text)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))
