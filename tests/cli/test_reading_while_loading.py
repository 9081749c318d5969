"""Reading while loading: `report` and the library's `connect()` during a local run wait for the run to finish
(one progress line naming it), then read; past their timeout they exit 3 naming what held the warehouse. A process
that has the warehouse open for writing without our lock (a plain `dbt build`) is waited for the same way.

Observed before (SF 0.01, local mode): `report daily` while a local run was going exited 2 with DuckDB's
"Conflicting lock is held … (PID …)".

The real command in subprocesses, real dbt, the emulator; a run is paused (SIGSTOP) once it has started its
execution, so the report finds it in progress whatever the machine's speed, and let go (SIGCONT) once the report
says it waits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from cli_support import PROJECT, cli
from pipeline_support import FIRST

from orchestrator import reports
from orchestrator.errors import ExitCode, WarehouseBusy
from orchestrator.modes.local import local_run_lock

pytestmark = pytest.mark.slow
NAME = f"store-sales-{FIRST}-r1"
SECONDS = 300


def command(*args: str, new_session: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=PROJECT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


@contextmanager
def paused(process: subprocess.Popen[str]) -> Iterator[None]:
    os.killpg(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGCONT)


def report_daily(*args: str) -> subprocess.Popen[str]:
    return command("report", "daily", "--date", FIRST.isoformat(), *args)


def test_a_report_waits_for_a_local_run_and_for_a_plain_writer_then_reads(data_dir: Path) -> None:
    run = command("run", "--date", FIRST.isoformat(), new_session=True)
    assert run.stdout is not None
    started = run.stdout.readline()
    assert started.startswith(f"started {NAME}"), started + run.communicate()[1]
    with paused(run):  # the run holds the data directory, its execution started and named in the lock
        report = report_daily("--timeout", str(SECONDS))
        assert report.stderr is not None
        waiting = report.stderr.readline()
    assert waiting.startswith(f"waiting for {NAME} (a local pipeline run, pid {run.pid}) to finish before reading ")
    run_out, run_err = run.communicate(timeout=SECONDS)
    assert run.returncode == ExitCode.OK, run_out + run_err
    out, err = report.communicate(timeout=SECONDS)
    assert report.returncode == ExitCode.OK, err
    assert err == ""  # the one progress line, nothing else: no DuckDB lock message
    assert out.startswith(f"data as of {FIRST}: execution {NAME} finished")  # read after the whole run
    assert FIRST.isoformat() in out.splitlines()[2]  # the day's first store row

    with duckdb.connect(str(data_dir / "warehouse.duckdb")):  # a writer without our lock, as a plain dbt build
        writing = report_daily("--timeout", str(SECONDS))
        assert writing.stderr is not None
        waiting = writing.stderr.readline()
    assert waiting.startswith(f"waiting for pid {os.getpid()} (it has the warehouse open for writing) to finish")
    again, err = writing.communicate(timeout=SECONDS)
    assert writing.returncode == ExitCode.OK, err
    assert err == "" and again == out


def test_a_report_past_its_timeout_exits_3_naming_the_run_or_the_writer(data_dir: Path) -> None:
    environment = {"STORE_SALES_DATA_DIR": str(data_dir)}
    with local_run_lock(data_dir) as held:
        held.announce(NAME)
        result = cli("report", "daily", "--date", FIRST.isoformat(), "--timeout", "1", env=environment)
    assert result.returncode == ExitCode.TIMED_OUT, result.stderr
    waiting, error = result.stderr.strip().splitlines()
    assert waiting.startswith(f"waiting for {NAME} (a local pipeline run, pid {os.getpid()}) to finish")
    assert error.startswith(f"error: the local warehouse {data_dir / 'warehouse.duckdb'} was still being loaded by ")
    assert f"by {NAME} (a local pipeline run, pid {os.getpid()}) after 1 s of waiting" in error
    assert "--timeout" in error

    with duckdb.connect(str(data_dir / "warehouse.duckdb")):
        result = cli("report", "weekly", "--timeout", "1", env=environment)
    assert result.returncode == ExitCode.TIMED_OUT, result.stderr
    waiting, error = result.stderr.strip().splitlines()
    assert waiting.startswith(f"waiting for pid {os.getpid()} (it has the warehouse open for writing) to finish")
    assert f"was still being loaded by pid {os.getpid()} (it has the warehouse open for writing)" in error
    assert "Conflicting lock" not in result.stderr


def test_the_library_waits_for_the_run_too(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    duckdb.connect(str(data_dir / "warehouse.duckdb")).close()
    conn = reports.connect("local", timeout_seconds=0.5)
    with local_run_lock(data_dir) as held:
        held.announce(NAME)
        with pytest.raises(WarehouseBusy, match=f"still being loaded by {NAME}"):
            conn.query("select 1 as one")
    [waiting] = capsys.readouterr().err.strip().splitlines()
    assert waiting.startswith(f"waiting for {NAME} (a local pipeline run, pid {os.getpid()}) to finish")
    assert conn.query("select 1 as one")["one"].tolist() == [1]
    assert capsys.readouterr().err == ""  # nobody to wait for: nothing said
