"""Arrival through the commands: `run` without a date catches up every landed day, an execution whose day has
not landed fails in the task that reads the missing extract with its tables and every later task's unchanged,
and `run --wait-for-landing` starts once the marker arrives or gives up after --timeout naming what never came.

Real TPC-DS extracts (SF 0.01, with the counted `_SUCCESS` markers `sample-data` writes), the real project,
the deployed definition in the local emulator.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pipeline_support import FIRST, clean_build, tables

from orchestrator import cli
from orchestrator.errors import ExitCode
from orchestrator.landing.gate import MARKER_FILE

pytestmark = pytest.mark.slow

DAY = [FIRST + timedelta(days=n) for n in range(6)]


def marker(data: Path, extract: str, day: object) -> Path:
    return data / "landing" / extract / f"load_date={day}" / MARKER_FILE


def in_progress(data: Path, extract: str, day: object) -> str:
    """What the gate says of a delivery whose files are there but not its marker yet."""
    folder = marker(data, extract, day).parent
    return f"{extract} {day}: 1 file(s) in {folder} but no _SUCCESS marker (the delivery may be in progress)"


def hold_back(data: Path, extract: str, day: object) -> bytes:
    """Remove a marker as if its delivery were still being copied; returns it for `deliver`."""
    content = marker(data, extract, day).read_bytes()
    marker(data, extract, day).unlink()
    return content


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    """Run a command with --json: its exit code, its JSON output and what it said on stderr."""
    code = cli.main([*args, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else None, captured.err


def test_run_without_a_date_catches_up_every_landed_day_and_a_day_not_landed_fails_first(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sales_of_day_3 = hold_back(data_dir, "store_sales", DAY[3])
    hold_back(data_dir, "item", DAY[5])

    code, first, said = run_json(capsys, "run")
    assert code == ExitCode.OK, first
    assert first["name"] == f"store-sales-{DAY[0]}-to-{DAY[2]}-r1"
    assert "catch-up: loading 1998-01-02..1998-01-04 (3 landed day(s), nothing loaded before)" in said

    assert cli.main(["run"]) == ExitCode.OK
    captured = capsys.readouterr()
    assert "catch-up: nothing new has landed after the last loaded day 1998-01-04; nothing to do" in captured.err
    assert captured.out == ""  # nothing started

    loaded = tables(data_dir / "warehouse.duckdb")
    code, failed, _ = run_json(capsys, "run", "--date", str(DAY[3]))
    assert code == ExitCode.PIPELINE_FAILED
    assert failed["error"] == "LandingIncomplete"
    assert failed["message"].startswith(f"task store_sales ({DAY[3]}): landing incomplete: ")
    assert in_progress(data_dir, "store_sales", DAY[3]) in failed["message"]
    assert failed["message"].endswith("wait until the delivery in progress writes its _SUCCESS marker")
    # the dimensions, which do not read sales, loaded the day (the rerun loads it again); the fact did not
    assert [state["status"] for state in failed["states"] if state["name"].startswith("Build store_sales")] == [
        "FAILED"
    ]
    after = tables(data_dir / "warehouse.duckdb")
    for table in ("fct_store_sales", "rpt_daily_store_sales", "rpt_weekly_region_sales"):
        assert after[table] == loaded[table], table

    marker(data_dir, "store_sales", DAY[3]).write_bytes(sales_of_day_3)  # the delivery completes
    code, second, said = run_json(capsys, "run")
    assert code == ExitCode.OK, second
    assert second["name"] == f"store-sales-{DAY[3]}-to-{DAY[4]}-r1"  # up to the day before item's missing one
    assert "catch-up: loading 1998-01-05..1998-01-06 (2 landed day(s), after the last loaded day 1998-01-04)" in said
    assert tables(data_dir / "warehouse.duckdb") == clean_build(data_dir, tmp_path / "clean", end=DAY[4])


def test_wait_for_landing_runs_once_the_marker_arrives_or_gives_up_naming_it(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = hold_back(data_dir, "item", DAY[0])

    code = cli.main(["run", "--date", str(DAY[0]), "--wait-for-landing", "--timeout", "1"])
    assert code == ExitCode.TIMED_OUT
    err = capsys.readouterr().err
    waiting = in_progress(data_dir, "item", DAY[0])
    assert err.splitlines()[-1] == f"error: 1998-01-02 had not landed after 1 s: {waiting}; nothing was started"
    assert f"waiting for 1998-01-02 to land (0 s): {waiting}" in err
    assert cli.main(["history", "--json"]) == ExitCode.OK
    assert capsys.readouterr().out.strip() == "[]"

    delivery = threading.Timer(1.5, lambda: marker(data_dir, "item", DAY[0]).write_bytes(content))
    delivery.start()
    try:
        code, result, said = run_json(capsys, "run", "--date", str(DAY[0]), "--wait-for-landing", "--timeout", "120")
    finally:
        delivery.join()
    assert code == ExitCode.OK, result
    assert result["status"] == "SUCCEEDED"
    assert f"waiting for 1998-01-02 to land (0 s): {waiting}" in said


def test_status_tells_what_landed_what_ran_and_whether_it_was_on_time(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hold_back(data_dir, "customer_address", DAY[1])

    code, waiting, _ = run_json(capsys, "status", "--date", str(DAY[1]))
    assert code == ExitCode.PIPELINE_FAILED  # its 09:00 passed long ago, and nothing ran
    assert waiting["verdict"] == "not started, deadline passed"
    assert waiting["deadline"] == "1998-01-04T09:00:00+00:00"
    assert waiting["landing"]["customer_address"] == {
        "landed_at": None,
        "problem": in_progress(data_dir, "customer_address", DAY[1]).partition(": ")[2],
    }
    assert waiting["landing"]["item"]["problem"] is None and waiting["landing"]["item"]["landed_at"]
    assert waiting["execution"] is None

    assert run_json(capsys, "run", "--date", str(DAY[0]))[0] == ExitCode.OK
    code, late, _ = run_json(capsys, "status", "--date", str(DAY[0]))
    assert code == ExitCode.PIPELINE_FAILED
    assert late["verdict"] == "published late"  # published today, for a day of 1998
    assert late["execution"]["name"] == f"store-sales-{DAY[0]}-r1"
    assert [state["name"] for state in late["execution"]["states"]][:2] == ["Initialize", "Stage 1"]

    assert cli.main(["status"]) == ExitCode.PIPELINE_FAILED  # the newest day any extract landed for
    shown = capsys.readouterr().out
    assert shown.startswith("2003-01-02: not started, deadline passed (deadline 2003-01-03T09:00+00:00)")
    assert "  store_sales       landed " in shown
