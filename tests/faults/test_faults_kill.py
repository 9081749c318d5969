"""A pipeline killed mid-node, and two runs started at once, through the real command.

`python -m orchestrator run` runs as a subprocess in its own process group: the local emulator, the
in-process Lambda runner and the ECS runner subprocess it starts. It is killed with SIGKILL (no cleanup
runs) at a deterministic point inside a mart's write transaction: the command runs under a wrapper
(PAUSE_BEFORE_COMMIT) that holds dbt's COMMIT of that mart, after its delete and insert ran, and says so in
a marker file. Between the kill and the next run a reader opens the warehouse: the killed mart must be
exactly as before the run, every other table its state before the run or after a complete run, never a
partial one. The same run again must then give exactly the tables of an undisturbed build.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from engine_support import ROOT
from faults_support import FIRST, SECOND, snapshot, write_good_landing
from models_harness import BUILD_WITHOUT_TESTS, Warehouse

from orchestrator.runtime.runner import release_embedded_database

pytestmark = pytest.mark.slow

NODE_MARTS = (
    ("customer_address", "dim_customer_address"),
    ("item", "dim_item"),
    ("store_sales", "fct_store_sales"),
    ("reports", "rpt_daily_store_sales"),
)
RUN_DEADLINE_SECONDS = 300.0
POLL_SECONDS = 0.05
# The CLI with dbt's COMMIT of one node held: the node's writes are done and not committed when the marker
# file appears. (A daily window runs every task in the CLI process, the store_sales one included.)
PAUSE_BEFORE_COMMIT = """
import os, sys, time
from pathlib import Path
from dbt.adapters.sql.connections import SQLConnectionManager
commit = SQLConnectionManager.add_commit_query
def held(self):
    name = self.get_thread_connection().name
    if name == os.environ["PAUSE_BEFORE_COMMIT_OF"]:
        Path(os.environ["PAUSE_MARKER"]).write_text(name)
        time.sleep(3600)
    return commit(self)
SQLConnectionManager.add_commit_query = held
from orchestrator.cli.parser import main
sys.exit(main(sys.argv[1:]))
"""


def loaded_warehouse(root: Path, *days: date) -> Warehouse:
    """Landing data of FIRST and SECOND, and a warehouse built (undisturbed) for `days` in order."""
    warehouse = Warehouse(root)
    write_good_landing(warehouse.data_dir)
    for day in days:
        warehouse.run(*BUILD_WITHOUT_TESTS, start=day)
    release_embedded_database()  # dbt-duckdb keeps the file open in this process
    return warehouse


def start_run(warehouse: Warehouse, temp: Path, day: date, pause_before_commit_of: str | None = None) -> Any:
    """`python -m orchestrator run --date D` in a new process group, its temp files under `temp`; with
    `pause_before_commit_of`, dbt's COMMIT of that node is held (see PAUSE_BEFORE_COMMIT)."""
    temp.mkdir(parents=True, exist_ok=True)
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("STORE_SALES_", "AWS_"))}
    env = {
        **clean,
        "STORE_SALES_DATA_DIR": str(warehouse.data_dir),
        "STORE_SALES_DUCKDB": str(warehouse.duckdb_path),
        "TMPDIR": str(temp),
        "PAUSE_BEFORE_COMMIT_OF": pause_before_commit_of or "",
        "PAUSE_MARKER": str(temp / "paused"),
    }
    command = ["-c", PAUSE_BEFORE_COMMIT] if pause_before_commit_of else ["-m", "orchestrator"]
    return subprocess.Popen(
        [sys.executable, *command, "run", "--date", day.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_until_paused(process: subprocess.Popen[str], temp: Path, mart: str) -> None:
    """Block until the run holds the mart's COMMIT (bounded; never a timing assert)."""
    marker = temp / "paused"
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if marker.is_file() and marker.read_text() == f"model.store_sales.{mart}":
            return
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the run ended (exit {process.returncode}) before {mart} committed:\n{out}\n{err}")
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"{mart} did not reach its commit within {RUN_DEADLINE_SECONDS} s")


def kill_group(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=RUN_DEADLINE_SECONDS)
    return process.returncode, out, err


def assert_old_or_new(state: dict[str, Any], old: dict[str, Any], new: dict[str, Any], killed_in: str) -> None:
    for table, rows in state.items():
        assert rows in (old[table], new[table]), f"{table} is half loaded after a kill in {killed_in}"


def test_a_run_killed_in_each_node_leaves_old_or_new_tables_and_the_rerun_loads_exactly_once(
    tmp_path: Path,
) -> None:
    reference = loaded_warehouse(tmp_path / "reference", FIRST)
    before = snapshot(reference.duckdb_path)
    reference.run(*BUILD_WITHOUT_TESTS, start=SECOND)
    release_embedded_database()
    after = snapshot(reference.duckdb_path)
    assert before != after
    assert len(after["fct_store_sales"]) > len(before["fct_store_sales"])

    loaded = loaded_warehouse(tmp_path / "loaded", FIRST)
    assert snapshot(loaded.duckdb_path) == before
    for attempt, (task, mart) in enumerate(NODE_MARTS):
        assert before[mart] != after[mart], f"the run does not change {mart}: a kill there would prove nothing"
        # each kill on a fresh copy: a killed run may have committed the marts of its earlier tasks
        warehouse = Warehouse(tmp_path / f"killed-{attempt}")
        shutil.copytree(loaded.root, warehouse.root)
        temp = tmp_path / f"tmp-{attempt}"
        process = start_run(warehouse, temp, SECOND, pause_before_commit_of=f"model.store_sales.{mart}")
        wait_until_paused(process, temp, mart)
        kill_group(process)
        state = snapshot(warehouse.duckdb_path)
        assert state[mart] == before[mart], f"{mart} changed although its transaction never committed"
        assert_old_or_new(state, before, after, task)

    code, out, err = finish(start_run(warehouse, tmp_path / "tmp-final", SECOND))
    assert code == 0, out + err
    assert "store-sales-2002-01-11-r1: SUCCEEDED" in out  # killed runs left no record
    assert snapshot(warehouse.duckdb_path) == after


def test_two_runs_started_together_one_runs_and_the_other_names_it(tmp_path: Path) -> None:
    warehouse = loaded_warehouse(tmp_path / "warehouse")
    first = start_run(warehouse, tmp_path / "tmp-a", FIRST)
    second = start_run(warehouse, tmp_path / "tmp-b", FIRST)
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    loser, winner = (first, second) if first.poll() is not None else (second, first)

    code, out, err = finish(loser)
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"a local pipeline run is already in progress (pid {winner.pid})" in lines[0]

    code, out, err = finish(winner)
    assert code == 0, out + err
    assert "store-sales-2002-01-10-r1: SUCCEEDED" in out
    assert sorted(path.name for path in (warehouse.data_dir / "executions").iterdir()) == [
        "store-sales-2002-01-10-r1.json"
    ]
