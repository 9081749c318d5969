"""Shared helpers of the engine tests: the small dbt project under tests/projects/engine, parsed once."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from orchestrator.protocol import ExecutionRequest
from orchestrator.window import RefreshWindow

ROOT = Path(__file__).resolve().parent.parent
ENGINE_PROJECT = ROOT / "tests" / "projects" / "engine"
EXECUTION_DEADLINE_SECONDS = 240.0


def dbt_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from dbt.cli.main import cli; cli()", *args]


@functools.cache
def engine_parsed_dir() -> Path:
    """`dbt parse` of the engine project into a temp target dir (once per test session, removed at its exit)."""
    target = Path(tempfile.mkdtemp(prefix="engine-target-"))
    atexit.register(shutil.rmtree, target, True)
    run_dbt(ENGINE_PROJECT, target, "parse", duckdb=target / "parse.duckdb")
    return target


def run_dbt(project: Path, target: Path, *args: str, duckdb: Path, env: dict[str, str] | None = None) -> None:
    """Run the dbt CLI in a subprocess (never in the test process), writing only under `target`."""
    command = dbt_command(
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    )
    environment = {
        **os.environ,
        "STORE_SALES_DUCKDB": str(duckdb),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def copy_project(destination: Path) -> Path:
    shutil.copytree(ENGINE_PROJECT, destination, ignore=shutil.ignore_patterns("target", "logs"))
    return destination


def wait_for_execution(sfn: Any, execution_arn: str) -> dict[str, Any]:
    """Poll describe_execution until the execution leaves RUNNING (bounded, never asserted on time)."""
    deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING":
            return description
        time.sleep(0.2)
    raise AssertionError(f"execution {execution_arn} still RUNNING after {EXECUTION_DEADLINE_SECONDS} s")


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=execution_arn)["events"]
    return events


def entered_states(events: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def execution_input(start: str, end: str | None = None, nodes: list[str] | None = None) -> str:
    """The execution input the launcher sends (orchestrator.protocol.ExecutionRequest)."""
    window = RefreshWindow.parse(start, end or start)
    return ExecutionRequest(window, nodes=tuple(nodes) if nodes is not None else None).to_input()


@functools.cache
def project_parsed_dir() -> Path:
    """`dbt parse` of the real project (the repository root) into a temp target dir, once per session (removed at
    its exit)."""
    target = Path(tempfile.mkdtemp(prefix="store-sales-target-"))
    atexit.register(shutil.rmtree, target, True)
    run_dbt(ROOT, target, "parse", duckdb=target / "parse.duckdb", env={"STORE_SALES_DATA_DIR": str(target)})
    return target
