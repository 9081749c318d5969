"""The benchmark suite (bench/): its quick mode end to end, and the workshop transition model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import growth, volume
from bench.report import SECTIONS
from bench.sections import keep_sections
from bench.suite import price, workshop_transitions

PROJECT_DIR = Path(__file__).resolve().parent.parent
REFERENCE_REPORT = PROJECT_DIR / "bench" / "RESULTS.md"


def test_workshop_polling_counts_three_transitions_per_started_ten_seconds() -> None:
    counted = workshop_transitions({"customer_address": 9.5, "item": 10.0, "store_sales": 10.1, "reports": 0.2})
    assert counted["polls"] == {"customer_address": 1, "item": 1, "store_sales": 2, "reports": 1}
    assert counted["per_job"] == {"customer_address": 4, "item": 4, "store_sales": 7, "reports": 4}
    assert counted["total"] == 4 + 4 + 7 + 4 + 2
    assert price(1000) == pytest.approx(0.025)


def test_the_committed_growth_table_is_rendered_from_the_committed_records_of_each_scale() -> None:
    costs = growth.load_costs(REFERENCE_REPORT)
    assert [c.scale for c in costs] == [0.1, 1.0, 10.0]
    assert [c.sales_lines for c in costs] == [275_573, 2_750_554, 27_504_533]  # the sample data's store_sales rows
    section = growth.SECTION.held_by(REFERENCE_REPORT.read_text(encoding="utf-8"))
    assert section == growth.SECTION.wrap(growth.render(costs)), "rewrite it: python -m bench.growth"
    assert "| window that fits 50% of a Lambda's 840 s |" in section


def test_a_regenerated_report_keeps_what_other_commands_wrote_and_a_section_is_replaced_in_place(
    tmp_path: Path,
) -> None:
    report = tmp_path / "RESULTS.md"
    report.write_text("# Benchmarks\n\nold figures\n", encoding="utf-8")
    volume.SECTION.write(report, "## 6. Volume anomalies\n\n13 of 1,807 days flagged")
    growth.SECTION.write(report, "## 7. How cost grows\n\nold table")

    regenerated = keep_sections(report, "# Benchmarks\n\nnew figures\n", (volume.SECTION, growth.SECTION))
    report.write_text(regenerated, encoding="utf-8")
    growth.SECTION.write(report, "## 7. How cost grows\n\nnew table")
    volume.SECTION.write(report, "## 6. Volume anomalies\n\n25 of 1,820 days flagged")  # where it was

    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nnew figures\n") and "old figures" not in text
    assert text.count(volume.SECTION.start) == 1 and "25 of 1,820 days flagged" in text
    assert text.count(growth.SECTION.start) == 1 and "new table" in text and "old table" not in text
    assert text.index(volume.SECTION.end) < text.index(growth.SECTION.start)


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

    # the same measurements taken as a real run's: the record goes beside the report, every report there gets
    # the growth table
    scale_report = tmp_path / "RESULTS-sf0.01.md"
    render = ["--render-only", "--scale", "0.01", "--work-dir", str(tmp_path / "work"), "--out", str(scale_report)]
    completed = subprocess.run(
        [sys.executable, "-m", "bench", *render], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert (tmp_path / "results" / "sf0.01.json").is_file()
    for written in (results, scale_report):
        assert "| | SF 0.01 |" in written.read_text(encoding="utf-8")
