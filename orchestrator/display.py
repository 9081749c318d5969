"""What the user sees of an execution: live progress lines, the per-state timing table, JSON."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from orchestrator.launcher import ExecutionRef, ExecutionResult, StateRun, StateStatus

_MARK = {StateStatus.RUNNING: "▶", StateStatus.SUCCEEDED: "✔", StateStatus.FAILED: "✘"}


def _clock(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%H:%M:%S.%f")[:-3] if moment else "—"


def _seconds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "—"


class Progress:
    """Prints one line per state as it starts and ends (rich colours on a terminal, plain otherwise)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.console = Console(file=stream, highlight=False)

    def __call__(self, state: StateRun) -> None:
        moment = state.exited if state.status is not StateStatus.RUNNING else state.entered
        line = f"{_clock(moment)}  {_MARK[state.status]} {state.name}"
        if state.status is not StateStatus.RUNNING:
            line += f"  {_seconds(state.seconds)} s"
        if state.retries:
            line += f"  (retried {state.retries}x)"
        if state.error:
            line += f"  {state.error}"
        style = {StateStatus.SUCCEEDED: "green", StateStatus.FAILED: "red"}.get(state.status)
        self.console.print(line, style=style, markup=False)


def runner_summaries(output: Any) -> list[dict[str, Any]]:
    """Every dbt runner summary found in an execution's output or a state's output."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "invocation_id" in value and "nodes" in value:
                found.append(value)
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(output)
    return found


def result_table(result: ExecutionResult) -> Table:
    table = Table(title=f"{result.ref.name}: {result.ref.status}", title_justify="left")
    for column in ("state", "type", "entered", "exited", "seconds", "status"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for state in result.states:
        table.add_row(
            state.name,
            state.kind,
            _clock(state.entered),
            _clock(state.exited),
            _seconds(state.seconds),
            state.status.value + (f" ({state.retries} retries)" if state.retries else ""),
        )
    return table


def models_table(summaries: list[dict[str, Any]]) -> Table:
    table = Table(title="dbt results", title_justify="left")
    for column in ("node", "status", "rows", "seconds", "database user"):
        table.add_column(column, justify="right" if column in {"rows", "seconds"} else "left")
    for summary in summaries:
        for node in summary.get("nodes", []):
            table.add_row(
                str(node.get("name") or node.get("unique_id")),
                str(node.get("status")),
                "" if node.get("rows_affected") is None else str(node["rows_affected"]),
                _seconds(node.get("seconds")),
                str(summary.get("database_user") or ""),
            )
    return table


def show_result(result: ExecutionResult, stream: TextIO | None = None) -> None:
    console = Console(file=stream, highlight=False)
    console.print(result_table(result))
    summaries = runner_summaries(result.output) or runner_summaries([state.output for state in result.states])
    if summaries:
        console.print(models_table(summaries))
    if result.error or result.cause:
        console.print(f"failed: {result.error}: {result.cause}", style="red", markup=False)


def result_json(result: ExecutionResult) -> str:
    summaries = runner_summaries(result.output) or runner_summaries([state.output for state in result.states])
    document = {
        "execution_arn": result.ref.arn,
        "name": result.ref.name,
        "status": result.ref.status.value,
        "started": result.ref.started.isoformat(),
        "stopped": result.ref.stopped.isoformat() if result.ref.stopped else None,
        "refresh_window": (
            {"start": result.request.window.start.isoformat(), "end": result.request.window.end.isoformat()}
            if result.request
            else None
        ),
        "error": result.error,
        "cause": result.cause,
        "states": [
            {
                "name": state.name,
                "type": state.kind,
                "entered": state.entered.isoformat(),
                "exited": state.exited.isoformat() if state.exited else None,
                "seconds": state.seconds,
                "status": state.status.value,
                "retries": state.retries,
                "error": state.error,
            }
            for state in result.states
        ],
        "dbt": summaries,
    }
    return json.dumps(document, indent=2, sort_keys=True)


def history_table(refs: list[ExecutionRef]) -> Table:
    table = Table(title="recent executions", title_justify="left")
    for column in ("name", "status", "window", "started", "seconds"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for ref in refs:
        table.add_row(
            ref.name,
            ref.status.value,
            str(ref.window) if ref.window else "—",
            ref.started.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            _seconds(ref.seconds),
        )
    return table
