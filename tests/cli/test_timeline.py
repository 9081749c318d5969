"""The timeline tells the truth: what the live lines and the timing table say of a stopped run and of a failed stage.

Observed before (SF 0.01, local mode): a Ctrl-C while `Build store_sales on Lambda` ran left the task's rows in the
fact, yet the timing table said that task FAILED, with no error, and the command said nothing of what was loaded;
and when both dimension tasks failed (missing markers), the live timeline printed "✔ Stage 1" because the Parallel
state caught its branches' errors.

The real command in a subprocess, real dbt on DuckDB, the deployed definition in the local emulator.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from cli_support import PROJECT, cli
from pipeline_support import FIRST, built_models, run_cli

from orchestrator.errors import ExitCode
from orchestrator.executions.launcher import StateStatus
from orchestrator.modes.local import journal

pytestmark = pytest.mark.slow
NAME = f"store-sales-{FIRST}-r1"
RUN_SECONDS = 300


def table_row(out: str, state: str) -> str:
    """The timing table's row of `state`."""
    [row] = [line for line in out.splitlines() if line.startswith(f"│ {state} ")]
    return row


def test_ctrl_c_while_the_fact_loads_shows_its_task_succeeded_and_what_resume_builds(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", "--date", FIRST.isoformat()],
        cwd=PROJECT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:  # the live timeline, line by line
        seen.append(line)
        if "▶ Build store_sales on Lambda" in line:
            process.send_signal(signal.SIGINT)  # while the fact's task runs
            break
    out, err = process.communicate(timeout=RUN_SECONDS)
    assert process.returncode == ExitCode.TIMED_OUT, "".join(seen) + out + err
    assert "Traceback" not in err
    assert f"stopping {NAME} (Ctrl-C)" in err and "recorded as ABORTED" in err

    assert f"{NAME}: ABORTED" in out
    assert "SUCCEEDED" in table_row(out, "Build store_sales on Lambda")  # it finished before the stop
    assert f"{NAME} was stopped (ABORTED); before it stopped, its tasks that completed loaded: " in out
    assert "fct_store_sales" in out.split("its tasks that completed loaded: ", 1)[1]
    resume_line = f"`python -m orchestrator resume {NAME}` builds the rest: "
    assert f"{resume_line}country_regions, rpt_daily_store_sales, rpt_weekly_region_sales" in out

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        [(rows,)] = connection.execute(
            "select count(*) from main.fct_store_sales where ss_sold_date = ?", [FIRST]
        ).fetchall()
    assert rows > 0  # the task's rows are in the fact
    recorded = {state.name: state for state in journal().load(NAME).states}
    assert recorded["Build store_sales on Lambda"].status is StateStatus.SUCCEEDED
    assert "Build reports" not in recorded

    code, resumed = run_cli(capsys, "resume", NAME)
    assert code == ExitCode.OK, resumed
    assert built_models(resumed) == {"rpt_daily_store_sales", "rpt_weekly_region_sales"}  # what it said it would


def test_a_stage_whose_tasks_failed_is_failed_in_the_live_timeline_and_the_table(data_dir: Path) -> None:
    for extract in ("customer_address", "item"):
        (data_dir / "landing" / extract / f"load_date={FIRST}" / "_SUCCESS").unlink()

    result = cli("run", "--date", FIRST.isoformat(), env={"STORE_SALES_DATA_DIR": str(data_dir)})
    assert result.returncode == ExitCode.PIPELINE_FAILED, result.stdout + result.stderr

    live = [line for line in result.stdout.splitlines() if " Stage 1 " in line and not line.startswith("│")]
    assert not [line for line in live if "✔ Stage 1" in line], result.stdout
    [failed] = [line for line in live if "✘ Stage 1" in line]
    assert failed.endswith("LandingIncomplete")
    assert "FAILED" in table_row(result.stdout, "Stage 1")
    recorded = {state.name: state for state in journal().load(NAME).states}
    assert recorded["Stage 1"].status is StateStatus.FAILED
    assert recorded["Stage 1"].error == "LandingIncomplete"
