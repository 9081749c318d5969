"""What the user sees of an execution: live progress lines (and the alerts it sends), the per-state timing table,
JSON, and a failure's one line (`failure_line`, which the commands print on stderr)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from orchestrator.executions.launcher import ExecutionResult, StateRun, StateStatus
from orchestrator.ledger import LedgerEntry
from orchestrator.protocol import TASK_SUMMARY_MARKERS
from orchestrator.runtime import failure
from orchestrator.runtime.step_functions import ExecutionRef, ExecutionStatus

_MARK = {StateStatus.RUNNING: "▶", StateStatus.SUCCEEDED: "✔", StateStatus.FAILED: "✘", StateStatus.ABORTED: "■"}
_STYLE = {StateStatus.SUCCEEDED: "green", StateStatus.FAILED: "red", StateStatus.ABORTED: "yellow"}


def _console(stream: TextIO | None = None) -> Console:
    """Rich output; wide enough for the tables when the output is a file or a pipe."""
    console = Console(file=stream, highlight=False)
    if not console.is_terminal:
        console = Console(file=stream, highlight=False, width=160)
    return console


def readable_cause(cause: str | None) -> str | None:
    """A failure cause as one line (`orchestrator.runtime.failure`): an execution's cause already is; an older
    one held the task prefix and the Lambda runtime's JSON error."""
    return None if not cause else failure.line_of(None, cause)


def failure_line(result: ExecutionResult) -> str | None:
    """What a failed, timed-out or aborted execution prints on stderr: one line (never wrapped), naming it."""
    if result.ref.status is ExecutionStatus.SUCCEEDED:
        return None
    line = failure.line_of(result.error, result.cause) or "no error was recorded"
    return f"error: execution {result.ref.name} {result.ref.status.value}: {line}"


def _clock(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%H:%M:%S.%f")[:-3] if moment else "—"


def _seconds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "—"


class Progress:
    """Prints one line per state as it starts and ends (rich colours on a terminal, plain otherwise)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.console = _console(stream)
        self._shown: set[tuple[int, StateStatus, int]] = set()

    def __call__(self, state: StateRun) -> None:
        key = (id(state), state.status, state.retries)
        if key in self._shown:
            return
        self._shown.add(key)
        moment = state.exited if state.status is not StateStatus.RUNNING else state.entered
        line = f"{_clock(moment)}  {_MARK[state.status]} {state.name}"
        if state.status is not StateStatus.RUNNING:
            line += f"  {_seconds(state.seconds)} s"
        if state.retries:
            line += f"  (retried {state.retries}x)"
        if state.error:
            line += f"  {state.error}"
        self.console.print(line, style=_STYLE.get(state.status), markup=False)
        if state.alert_sent:
            self.console.print(f"alert sent: {state.alert_sent}", style="yellow", markup=False, soft_wrap=True)


def task_summaries(result: ExecutionResult) -> list[dict[str, Any]]:
    """The dbt task summaries (orchestrator.protocol.TaskSummary as dicts) in an execution's outputs.

    The state machine collects them in its output; a failed execution has none there, so the
    outputs of the states that finished are searched too. Each task appears once.
    """
    found: dict[str, dict[str, Any]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.keys() >= TASK_SUMMARY_MARKERS:
                found.setdefault(str(value["task"]), value)
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(result.output)
    walk([state.output for state in result.states])
    return list(found.values())


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
    for column in ("task", "node", "type", "status", "rows", "seconds", "database user"):
        table.add_column(column, justify="right" if column in {"rows", "seconds"} else "left")
    for summary in summaries:
        for node in summary.get("models") or [{"name": "—", "status": summary.get("status")}]:
            table.add_row(
                str(summary.get("task")),
                str(node.get("name")),
                str(node.get("resource_type") or ""),
                str(node.get("status")),
                "" if node.get("rows_affected") is None else str(node["rows_affected"]),
                _seconds(node.get("seconds")),
                str(summary.get("database_user") or ""),
            )
    return table


def show_result(result: ExecutionResult, stream: TextIO | None = None, resume: Sequence[str] | None = None) -> None:
    """The timing table, dbt's results and what they add up to; for a stopped (ABORTED) execution, what it
    loaded and, when `resume` is given (the models a resume would build), what `resume` will do."""
    console = _console(stream)
    console.print(result_table(result))
    summaries = task_summaries(result)
    if summaries:
        console.print(models_table(summaries))
    accepted = sorted({day for summary in summaries for day in summary.get("landing_missing") or ()})
    if accepted:
        console.print(f"not delivered, accepted by --allow-missing: {', '.join(accepted)}", markup=False)
    warnings = warnings_of(summaries)
    if warnings and result.ref.status.value == "SUCCEEDED":
        console.print(f"published with a warning: {'; '.join(warnings)}", style="yellow", markup=False)
    if result.ref.status is ExecutionStatus.ABORTED:
        for line in stopped_summary(result, summaries, resume):
            console.print(line, style="yellow", markup=False)


def stopped_summary(
    result: ExecutionResult, summaries: list[dict[str, Any]], resume: Sequence[str] | None
) -> list[str]:
    """What a stopped execution loaded before it stopped, and what resuming it builds."""
    built = [
        f"{node['name']} ({node['rows_affected']} rows)" if node.get("rows_affected") is not None else str(node["name"])
        for summary in summaries
        for node in summary.get("models") or ()
        if node.get("status") == "success" and node.get("resource_type", "model") == "model"
    ]
    name = result.ref.name
    lines = [
        f"{name} was stopped (ABORTED); before it stopped, its tasks that completed loaded: {', '.join(built)}"
        if built
        else f"{name} was stopped (ABORTED) before any of its tasks completed: nothing was loaded"
    ]
    if resume:
        lines.append(f"`python -m orchestrator resume {name}` builds the rest: {', '.join(resume)}")
    elif resume is not None:
        lines.append(f"every model was built: nothing is left for `python -m orchestrator resume {name}`")
    return lines


def warnings_of(summaries: list[dict[str, Any]]) -> list[str]:
    """The tasks' warnings (the volume check's anomalies), in task order."""
    return [str(line) for summary in summaries for line in summary.get("warnings") or ()]


def result_json(result: ExecutionResult) -> str:
    """The execution as JSON for scripts: the record plus the dbt task summaries found in it."""
    document = result.to_dict()
    document["dbt"] = task_summaries(result)
    document["warnings"] = warnings_of(document["dbt"])
    document["message"] = failure.line_of(result.error, result.cause)
    return json.dumps(document, indent=2, sort_keys=True, default=str)


@dataclass(frozen=True)
class HistoryRow:
    """One line of `history`: an execution (with what the ledger says it loaded) or a plain dbt run."""

    name: str
    status: str
    window: str | None
    started: datetime
    seconds: float | None
    arn: str | None  # None for a plain dbt run: it is in the ledger only
    recorded: LedgerEntry | None

    @property
    def loaded(self) -> str:
        """What the ledger says the attempt left in the warehouse."""
        if self.recorded is None:
            return "—" if self.status != "SUCCEEDED" else "not recorded"
        if not self.recorded.published:
            return "selected models" if self.recorded.status == "SUCCEEDED" else "nothing published"
        rows = ", ".join(f"{model} {count:,}" for model, count in sorted(self.recorded.rows_written.items()))
        return f"published ({rows})" if rows else "published"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "execution_arn": self.arn,
            "source": "execution" if self.arn is not None else "plain dbt run",
            "status": self.status,
            "window": self.window,
            "started": self.started.isoformat(),
            "seconds": self.seconds,
            "published": None if self.recorded is None else self.recorded.published,
            "rows_written": None if self.recorded is None else dict(self.recorded.rows_written),
        }


def history_rows(refs: list[ExecutionRef], entries: list[LedgerEntry], limit: int) -> list[HistoryRow]:
    """The executions with their ledger rows, and the ledger rows of no execution (plain dbt), newest first."""
    recorded = {entry.execution: entry for entry in entries}
    rows = [
        HistoryRow(
            ref.name,
            ref.status.value,
            str(ref.window) if ref.window else None,
            ref.started,
            ref.seconds,
            ref.arn,
            recorded.pop(ref.name, None),
        )
        for ref in refs
    ]
    rows.extend(
        HistoryRow(
            entry.execution,
            entry.status,
            str(entry.window),
            entry.started,
            (entry.finished - entry.started).total_seconds() if entry.finished else None,
            None,
            entry,
        )
        for entry in recorded.values()
        if entry.by_plain_dbt
    )
    return sorted(rows, key=lambda row: row.started, reverse=True)[:limit]


def history_table(rows: list[HistoryRow]) -> Table:
    table = Table(title="recent executions", title_justify="left")
    for column in ("name", "status", "window", "started", "seconds", "loaded"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for row in rows:
        table.add_row(
            row.name,
            row.status,
            row.window or "—",
            row.started.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            _seconds(row.seconds),
            row.loaded,
        )
    return table


def show_history(rows: list[HistoryRow], stream: TextIO | None = None) -> None:
    _console(stream).print(history_table(rows))
