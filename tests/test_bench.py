"""The benchmark suite (bench/): its quick mode end to end, and the workshop transition model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import SECTIONS
from bench.suite import price, workshop_transitions

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_workshop_polling_counts_three_transitions_per_started_ten_seconds() -> None:
    counted = workshop_transitions({"customer_address": 9.5, "item": 10.0, "store_sales": 10.1, "reports": 0.2})
    assert counted["polls"] == {"customer_address": 1, "item": 1, "store_sales": 2, "reports": 1}
    assert counted["per_job"] == {"customer_address": 4, "item": 4, "store_sales": 7, "reports": 4}
    assert counted["total"] == 4 + 4 + 7 + 4 + 2
    assert price(1000) == pytest.approx(0.025)


@pytest.mark.bench
def test_quick_bench_writes_every_section_and_its_equality_checks_pass(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--work-dir", str(tmp_path / "work"), "--out", str(results)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = results.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert section in report, f"section {section!r} missing from the quick report"
    check_rows = [line for line in report.splitlines() if line.startswith("| ") and "rows)" in line]
    assert len(check_rows) == 5, report
    assert all("| equal (" in row for row in check_rows), "\n".join(check_rows)
    assert "DIFFERENT" not in report
