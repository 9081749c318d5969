"""The user's commands end to end: the real project, real TPC-DS extracts (SF 0.01), the deployed
definition run by the local emulator. Each command runs as `python -m orchestrator ...` would, through
`orchestrator.cli.parser.main`, with its own emulator; what persists between commands is the warehouse and the
local journal, as for a user.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from models_harness import BUILD_WITHOUT_TESTS, Warehouse
from pipeline_support import FIRST, built_models, negative, pipeline_runs, run_cli, summaries, tables

from orchestrator import cli
from orchestrator.errors import ExitCode
from orchestrator.window import RefreshWindow

pytestmark = pytest.mark.slow


def test_backfill_of_a_month_equals_the_daily_sequence(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    month = RefreshWindow(FIRST, FIRST + timedelta(days=29))
    code = cli.main(["backfill", "--start", month.start.isoformat(), "--end", month.end.isoformat()])
    out = capsys.readouterr().err
    assert code == ExitCode.OK, out
    assert "done in 1 chunk(s)" in out

    sequence = Warehouse(tmp_path / "sequence")
    shutil.copytree(data_dir / "landing", sequence.data_dir / "landing")
    shutil.copytree(data_dir / "reference", sequence.data_dir / "reference")
    for day in month.dates():
        sequence.run(*BUILD_WITHOUT_TESTS, start=day)

    backfilled = tables(data_dir / "warehouse.duckdb")
    assert len(backfilled["fct_store_sales"]) > 0
    assert backfilled == tables(sequence.duckdb_path)

    code, history = cli.main(["history", "--json"]), json.loads(capsys.readouterr().out)
    assert code == ExitCode.OK
    assert [(item["name"], item["status"]) for item in history] == [
        ("store-sales-1998-01-02-to-1998-01-31-r1", "SUCCEEDED")
    ]

    # the execution's row in the run log: its window, and the rows each windowed model holds for it
    [row] = pipeline_runs(data_dir / "warehouse.duckdb")
    assert (row["execution_name"], row["status"], row["window_start"], row["window_end"]) == (
        "store-sales-1998-01-02-to-1998-01-31-r1",
        "SUCCEEDED",
        month.start,
        month.end,
    )
    assert row["started_at"] < row["finished_at"]
    assert (row["selection"], row["database_user"], row["anomalies"], row["error"]) == (None, "duckdb", "[]", None)
    assert json.loads(row["rows_written"])["fct_store_sales"] == len(backfilled["fct_store_sales"])
    # ...which the report prints as its "data as of" line
    assert cli.main(["report", "daily", "--date", month.end.isoformat()]) == ExitCode.OK
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line.startswith(f"data as of {month.end}: execution store-sales-1998-01-02-to-1998-01-31-r1 finished ")


def test_a_failed_day_resumes_only_the_failed_node_and_what_is_downstream(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sales_file = next((data_dir / "landing" / "store_sales" / f"load_date={FIRST.isoformat()}").glob("*.parquet"))
    original = negative(sales_file, "ss_quantity")

    code, failed = run_cli(capsys, "run", "--date", FIRST.isoformat())
    assert code == ExitCode.PIPELINE_FAILED
    assert failed["status"] == "FAILED"
    assert failed["error"] == "DbtTestFailed"
    assert "accepted_range" in failed["cause"]
    assert "ss_quantity" in failed["cause"]
    assert "ss_quantity" in failed["message"]
    assert "stackTrace" not in failed["message"]
    assert {"dim_customer_address", "dim_item"} <= built_models(failed)
    assert "fct_store_sales" not in built_models(failed)
    assert not any(state["name"] == "Build reports" for state in failed["states"])

    sales_file.write_bytes(original)
    code, resumed = run_cli(capsys, "resume", failed["name"])
    assert code == ExitCode.OK, resumed
    assert resumed["name"] == "store-sales-1998-01-02-r2"
    assert summaries(resumed)["customer_address"]["status"] == "skipped"
    assert summaries(resumed)["item"]["status"] == "skipped"
    assert {"fct_store_sales", "rpt_daily_store_sales", "rpt_weekly_region_sales"} <= built_models(resumed)

    clean = Warehouse(tmp_path / "clean")
    shutil.copytree(data_dir / "landing", clean.data_dir / "landing")
    shutil.copytree(data_dir / "reference", clean.data_dir / "reference")
    clean.run(*BUILD_WITHOUT_TESTS, start=FIRST)
    assert tables(data_dir / "warehouse.duckdb") == tables(clean.duckdb_path)

    code, shown = run_cli(capsys, "watch", failed["name"])
    assert code == ExitCode.PIPELINE_FAILED
    assert shown["name"] == failed["name"]

    # both executions in the run log: the failure with its cause, the resume with its selection
    first, second = pipeline_runs(data_dir / "warehouse.duckdb")
    assert (first["execution_name"], first["status"]) == (failed["name"], "FAILED")
    assert first["error"].startswith("DbtTestFailed: ") and "ss_quantity" in first["error"]
    assert (second["execution_name"], second["status"], second["error"]) == (resumed["name"], "SUCCEEDED", None)
    assert second["selection"] is not None and "fct_store_sales" in second["selection"]


def test_a_backfill_rerun_after_a_failure_continues_instead_of_redoing(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the first three days with sales (a day without sales is a folder with only its _SUCCESS marker)
    partitions = sorted(p for p in (data_dir / "landing" / "store_sales").iterdir() if any(p.glob("*.parquet")))[:3]
    days = [date.fromisoformat(partition.name.removeprefix("load_date=")) for partition in partitions]
    original = negative(next(partitions[1].glob("*.parquet")), "ss_quantity")
    window = ["--start", days[0].isoformat(), "--end", days[2].isoformat(), "--chunk-days", "1"]

    code = cli.main(["backfill", *window])
    out = capsys.readouterr()
    assert code == ExitCode.PIPELINE_FAILED
    assert f"backfill stopped at {days[1]}" in out.err

    next(partitions[1].glob("*.parquet")).write_bytes(original)
    code = cli.main(["backfill", *window])
    out = capsys.readouterr().err
    assert code == ExitCode.OK, out
    chunks = len(range((days[2] - days[0]).days + 1))
    assert f"[1/{chunks}] {days[0]}: already loaded by store-sales-{days[0]}-r1, skipped" in out
    assert f"{days[1]}: resuming store-sales-{days[1]}-r1" in out
    assert f"[{chunks}/{chunks}] {days[2]}: loading" in out

    code, summary = run_cli(capsys, "backfill", *window)
    assert code == ExitCode.OK
    assert [chunk["status"] for chunk in summary["chunks"]] == ["skipped"] * chunks
