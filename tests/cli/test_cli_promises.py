"""The README's promises about the commands, each held to account: stopping a local run (timeout, Ctrl-C)
records it as ABORTED and `resume` finishes it; the options (`--select`, `--exclude`, `--full-refresh`,
`render --out`) and the refusals (`--no-wait` locally, resuming a succeeded execution, `sample-data` while a
run holds the data directory); AWS and OS errors are one line with exit code 4.

Real TPC-DS extracts (SF 0.01), the real project, the deployed definition in the local emulator.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from moto import mock_aws
from pipeline_support import FIRST, SECOND, built_models, clean_build, run_cli, tables

from orchestrator import cli
from orchestrator.definition.graph import DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.errors import ExitCode
from orchestrator.executions.launcher import ExecutionResult
from orchestrator.modes.local import ensure_parsed, journal, local_run_lock
from orchestrator.protocol import ExecutionRequest, TaskSummary
from orchestrator.runtime import step_functions
from orchestrator.runtime.step_functions import ExecutionRef, ExecutionStatus
from orchestrator.window import RefreshWindow

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).resolve().parents[2]


def history(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert cli.main(["history", "--json"]) == ExitCode.OK
    return {item["name"]: item["status"] for item in json.loads(capsys.readouterr().out)}


def test_a_run_stopped_by_its_timeout_is_aborted_and_resume_finishes_it(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["run", "--start", FIRST.isoformat(), "--end", SECOND.isoformat(), "--timeout", "1"])
    err = capsys.readouterr().err
    assert code == ExitCode.TIMED_OUT, err
    name = f"store-sales-{FIRST}-to-{SECOND}-r1"
    assert f"stopping {name} (its --timeout): the local execution runs inside this command" in err
    assert "recorded as ABORTED" in err
    assert history(capsys) == {name: "ABORTED"}

    code, resumed = run_cli(capsys, "resume", name)
    assert code == ExitCode.OK, resumed
    assert resumed["status"] == "SUCCEEDED"
    assert tables(data_dir / "warehouse.duckdb") == clean_build(data_dir, tmp_path / "clean")


def test_ctrl_c_stops_a_local_run_and_records_it_as_aborted(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {**os.environ, "STORE_SALES_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "orchestrator", "run", "--date", FIRST.isoformat()]
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    started = process.stdout.readline()  # "started <name> (...)" once the execution runs
    assert started.startswith(f"started store-sales-{FIRST}-r1"), started
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == ExitCode.TIMED_OUT, err
    assert "recorded as ABORTED" in err
    assert "Traceback" not in err
    assert history(capsys) == {f"store-sales-{FIRST}-r1": "ABORTED"}


class ManifestReads:
    """Counts the orchestrator's reads of dbt's manifest.json (`load_manifest`), seen by a Python audit hook on
    every `open`; an audit hook stays for the process's life, so it counts only while `active`."""

    def __init__(self) -> None:
        self.count = 0
        self.active = False
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active or event != "open" or not str(args[0]).endswith("manifest.json"):
            return
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_name == "load_manifest":
                self.count += 1
                return
            frame = frame.f_back  # type: ignore[assignment]


def test_select_and_exclude_build_only_the_chosen_models(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reads = ManifestReads()
    reads.active = True
    try:
        code, selected = run_cli(capsys, "run", "--date", FIRST.isoformat(), "--select", "+dim_item")
    finally:
        reads.active = False
    assert code == ExitCode.OK, selected
    assert built_models(selected) == {"stg_tpcds__items", "dim_item"}
    assert reads.count == 1  # the command reads the manifest once: the emulator's graph serves the selection

    code, excluded = run_cli(capsys, "run", "--date", FIRST.isoformat(), "--exclude", "fct_store_sales+")
    assert code == ExitCode.OK, excluded
    built = built_models(excluded)
    assert not built & {"fct_store_sales", "rpt_daily_store_sales", "rpt_weekly_region_sales"}
    assert {"stg_tpcds__store_sales", "dim_customer_address", "dim_item"} <= built


def test_full_refresh_starts_at_the_first_load_and_equals_the_incremental_load(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["run", "--date", SECOND.isoformat(), "--full-refresh"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert f"start the window at the first load date, {FIRST}" in err

    incremental = tmp_path / "incremental"
    shutil.copytree(data_dir, incremental)
    code, _ = run_cli(capsys, "run", "--start", FIRST.isoformat(), "--end", SECOND.isoformat())
    assert code == ExitCode.OK
    once = tables(data_dir / "warehouse.duckdb")
    code, _ = run_cli(capsys, "run", "--start", FIRST.isoformat(), "--end", SECOND.isoformat(), "--full-refresh")
    assert code == ExitCode.OK
    assert tables(data_dir / "warehouse.duckdb") == once == clean_build(data_dir, tmp_path / "clean")


def test_refusals_are_one_line_usage_errors(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--date", FIRST.isoformat(), "--no-wait"]) == ExitCode.USAGE
    assert "--no-wait needs --aws" in capsys.readouterr().err

    code, result = run_cli(capsys, "run", "--date", FIRST.isoformat())
    assert code == ExitCode.OK
    assert cli.main(["resume", result["name"]]) == ExitCode.USAGE
    assert f"execution {result['name']} is SUCCEEDED: only a failed one can be resumed" in capsys.readouterr().err

    with local_run_lock(data_dir):
        code = cli.main(["sample-data", "--scale", "0.01", "--data-dir", str(data_dir), "--force"])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert f"pid {os.getpid()}" in err  # names the holder; the extracts were not touched
    assert tables(data_dir / "warehouse.duckdb")["fct_store_sales"]


@pytest.fixture
def parsed() -> None:
    """`render` reads target/manifest.json, which a fresh clone has only after a parse."""
    ensure_parsed(PROJECT)


@pytest.mark.usefixtures("parsed")
def test_render_writes_the_definition_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "definition.json"
    assert cli.main(["render", "--out", str(out)]) == ExitCode.OK
    assert f"wrote {out}" in capsys.readouterr().out
    definition = json.loads(out.read_text(encoding="utf-8"))
    golden = json.loads((PROJECT / "tests" / "golden" / "store_sales.json").read_text(encoding="utf-8"))
    assert definition.pop("Comment").endswith("generated by orchestrator.definition.state_machine, do not edit")
    assert definition == {key: value for key, value in golden.items() if key != "Comment"}


@pytest.mark.usefixtures("parsed")
def test_an_os_error_is_one_line_with_exit_code_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert cli.main(["render", "--out", str(blocker / "definition.json")]) == ExitCode.ENVIRONMENT
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and str(blocker) in line


def test_an_aws_error_is_one_line_with_exit_code_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "store-sales.toml"
    config.write_text("")
    monkeypatch.setenv("STORE_SALES_CONFIG", str(config))
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv(
        "STORE_SALES_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:store-sales-gone"
    )
    with mock_aws():
        code = cli.main(["history", "--aws"])
    [line] = capsys.readouterr().err.strip().splitlines()
    assert code == ExitCode.ENVIRONMENT
    assert line.startswith("error: AWS refused or could not be reached: ")
    assert "store-sales-gone" in line


def test_resuming_an_execution_that_built_every_model_is_refused(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A FAILED execution whose every model was built (it failed after its last task, e.g. in its alert)."""
    ensure_parsed(PROJECT)  # target/manifest.json, whatever ran before this test (a fresh clone has none)
    graph = DbtGraph.from_manifest(load_manifest(PROJECT))
    models = [{"name": graph.nodes[uid].name, "status": "success", "resource_type": "model"} for uid in graph.nodes]
    window = RefreshWindow.day(FIRST)
    summary = TaskSummary("all", "success", {"start": str(FIRST), "end": str(FIRST)}, models, invocation_id="i-1")
    name = step_functions.execution_name(window, 1)
    ref = ExecutionRef(
        f"arn:aws:states:us-east-1:123456789012:execution:local:{name}", name, ExecutionStatus.FAILED, datetime.now(UTC)
    )
    journal().save(ExecutionResult(ref, ExecutionRequest(window), output={"results": {"all": summary.to_dict()}}))

    assert cli.main(["resume", name]) == ExitCode.USAGE
    assert f"execution {name} built every model; nothing to resume" in capsys.readouterr().err
