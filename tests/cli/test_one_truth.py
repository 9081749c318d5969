"""One truth about what is loaded: a history that mixes orchestrated runs, a failed run and its resume, a plain
`dbt build` catch-up, a failed rerun of a published day and an aborted run, after which `status`, `history`,
`report`'s "data as of", `run` without a date and a plain `dbt build` all tell the same story, read from
the warehouse's ledger (orchestrator/ledger.py, the view pipeline_loads). And a window that would leave
landed days unloaded, as a mistyped warehouse path does, is refused before anything starts.

Everything as a user runs it: the CLI and dbt in subprocesses, real TPC-DS extracts (SF 0.01, six days), the
deployed definition in the local emulator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import PROJECT, assert_one_line_error, cli
from pipeline_support import FIRST, pipeline_runs

from orchestrator.errors import ExitCode
from orchestrator.landing.gate import MARKER_FILE

pytestmark = pytest.mark.slow

DAY = [FIRST + timedelta(days=n) for n in range(6)]
EXTRACTS = ("customer_address", "item", "store_sales")


@pytest.fixture
def six_days(extracts: Path, tmp_path: Path) -> Path:
    """A data directory whose landing holds the first six days only."""
    data = tmp_path / "data"
    shutil.copytree(extracts / "reference", data / "reference")
    for extract in EXTRACTS:
        for day in DAY:
            folder = f"load_date={day}"
            shutil.copytree(extracts / "landing" / extract / folder, data / "landing" / extract / folder)
    return data


def env_of(data: Path, **extra: str) -> dict[str, str]:
    return {"STORE_SALES_DATA_DIR": str(data), **extra}


def json_of(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


def dbt_build(data: Path) -> subprocess.CompletedProcess[str]:
    """A plain `dbt build` without a window, as a dbt user types it: it catches up (macros/catch_up.sql). Its
    target and log folders are the test's own, so the project's parse is left as the commands made it."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("STORE_SALES_", "AWS_"))}
    dbt = Path(sys.executable).with_name("dbt")
    own = ["--target-path", str(data / "dbt-target"), "--log-path", str(data / "dbt-logs")]
    return subprocess.run(
        [str(dbt), "build", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--target", "local", *own],
        capture_output=True,
        text=True,
        env={**clean, "STORE_SALES_DATA_DIR": str(data)},
        cwd=PROJECT,
        timeout=300,
        check=False,
    )


def hold_back(data: Path, extract: str, day: date) -> Path:
    marker = data / "landing" / extract / f"load_date={day}" / MARKER_FILE
    held = marker.with_name("held")
    marker.rename(held)
    return held


def day_status(data: Path, day: date) -> tuple[int, dict[str, Any]]:
    result = cli("status", "--date", str(day), "--json", env=env_of(data))
    return result.returncode, json_of(result)


def test_a_window_after_landed_days_is_refused_in_a_warehouse_that_holds_none(six_days: Path) -> None:
    fresh = six_days / "mistyped" / "warehouse.duckdb"
    refused = cli("run", "--date", str(DAY[3]), env=env_of(six_days, STORE_SALES_DUCKDB=str(fresh)))
    assert_one_line_error(
        refused,
        ExitCode.USAGE,
        f"{DAY[3]} would leave 3 landed day(s) in {DAY[0]}..{DAY[2]} unloaded",
        f"local DuckDB warehouse {fresh}",
        "holds no load yet",
        f"backfill --start {DAY[0]} --end {DAY[2]}",
        "--allow-gap",
    )
    assert not fresh.exists()  # nothing started: no warehouse, no execution
    assert not (six_days / "executions").exists()

    allowed = cli(
        "run", "--date", str(DAY[3]), "--allow-gap", "--json", env=env_of(six_days, STORE_SALES_DUCKDB=str(fresh))
    )
    assert allowed.returncode == ExitCode.OK, allowed.stderr
    assert "--allow-gap: 3 landed day(s)" in allowed.stderr
    assert json_of(allowed)["input"]["allow_gap"] is True
    assert [(row["execution_name"], row["allowed_gap"]) for row in pipeline_runs(fresh)] == [
        (f"store-sales-{DAY[3]}-r1", True)
    ]


def test_every_command_tells_the_same_story_of_a_mixed_history(six_days: Path, tmp_path: Path) -> None:
    env = env_of(six_days)
    warehouse = six_days / "warehouse.duckdb"
    assert cli("run", "--date", str(DAY[0]), env=env).returncode == ExitCode.OK

    # day 1: the item delivery is still being copied, so the run fails; once it has landed, `resume` finishes
    # the run (one complete load in two executions)
    item_marker = hold_back(six_days, "item", DAY[1])
    failed = cli("run", "--date", str(DAY[1]), "--json", env=env)
    assert failed.returncode == ExitCode.PIPELINE_FAILED, failed.stderr
    item_marker.rename(item_marker.with_name(MARKER_FILE))
    resumed = cli("resume", f"store-sales-{DAY[1]}-r1", "--json", env=env)
    assert resumed.returncode == ExitCode.OK, resumed.stderr
    assert json_of(resumed)["input"]["completes_window"] is True

    # days 2..3: a plain dbt build catches up (days 4..5 have not landed yet)
    held = [hold_back(six_days, "item", day) for day in DAY[4:]]
    built = dbt_build(six_days)
    assert built.returncode == 0, built.stdout[-3000:]
    assert f"catch-up: loading {DAY[2]} .. {DAY[3]} (2 landed day(s), after the last loaded day {DAY[1]})" in (
        built.stdout
    )

    # a rerun of the published day 2 fails at its landing gate: the day stays published
    item_marker = hold_back(six_days, "item", DAY[2])
    rerun = cli("run", "--date", str(DAY[2]), env=env)
    assert rerun.returncode == ExitCode.PIPELINE_FAILED, rerun.stderr
    item_marker.rename(item_marker.with_name(MARKER_FILE))

    # day 4 lands; its run is stopped by --timeout (recorded ABORTED, writes no ledger row)
    for marker in held:
        marker.rename(marker.with_name(MARKER_FILE))
    aborted = cli("run", "--date", str(DAY[4]), "--timeout", "1", env=env)
    assert aborted.returncode == ExitCode.TIMED_OUT, aborted.stderr

    # what each command says
    runs = {row["execution_name"]: row for row in pipeline_runs(warehouse)}
    catch_up = next(name for name in runs if name.startswith("dbt-"))
    expected = {
        DAY[0]: ("published late", f"store-sales-{DAY[0]}-r1"),
        DAY[1]: ("published late", f"store-sales-{DAY[1]}-r2"),
        DAY[2]: ("published late", catch_up),
        DAY[3]: ("published late", catch_up),
        DAY[4]: ("failed", None),
        DAY[5]: ("not started, deadline passed", None),
    }
    for day, (verdict, publisher) in expected.items():
        code, said = day_status(six_days, day)
        assert code == ExitCode.PIPELINE_FAILED  # every day of 1998 is, honestly, late
        assert said["verdict"] == verdict, (day, said)
        assert (said["published"] or {}).get("execution") == publisher, (day, said)
    _, day_2 = day_status(six_days, DAY[2])
    assert [(a["execution"], a["status"], a["published"]) for a in day_2["attempts"]] == [
        (catch_up, "SUCCEEDED", True),
        (f"store-sales-{DAY[2]}-r1", "FAILED", False),
    ]
    shown = cli("status", "--date", str(DAY[2]), env=env).stdout
    assert f"  published {day_2['published']['finished'][:10]}" in shown
    assert f"rerun store-sales-{DAY[2]}-r1 failed at " in shown
    assert "(the published data is unchanged)" in shown
    _, day_4 = day_status(six_days, DAY[4])
    assert [(a["execution"], a["status"]) for a in day_4["attempts"]] == [(f"store-sales-{DAY[4]}-r1", "ABORTED")]

    history = json_of(cli("history", "--json", env=env))
    assert {row["name"]: (row["status"], row["published"]) for row in history} == {
        f"store-sales-{DAY[4]}-r1": ("ABORTED", None),
        f"store-sales-{DAY[2]}-r1": ("FAILED", False),
        catch_up: ("SUCCEEDED", True),
        f"store-sales-{DAY[1]}-r2": ("SUCCEEDED", True),
        f"store-sales-{DAY[1]}-r1": ("FAILED", False),
        f"store-sales-{DAY[0]}-r1": ("SUCCEEDED", True),
    }

    report = cli("report", "daily", "--date", str(DAY[0]), "--format", "json", env=env)
    assert report.returncode == ExitCode.OK, report.stderr
    assert report.stderr.startswith(f"data as of {DAY[3]}: execution {catch_up} finished ")

    caught_up = cli("run", "--json", env=env)
    assert caught_up.returncode == ExitCode.OK, caught_up.stderr
    assert f"catch-up: loading {DAY[4]}..{DAY[5]} (2 landed day(s), after the last loaded day {DAY[3]})" in (
        caught_up.stderr
    )
    code, said = day_status(six_days, DAY[5])
    assert said["published"]["execution"] == f"store-sales-{DAY[4]}-to-{DAY[5]}-r1"

    again = dbt_build(six_days)
    assert again.returncode == 0, again.stdout[-3000:]
    assert f"nothing new has landed after the last loaded day {DAY[5]}" in again.stdout
