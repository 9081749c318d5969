"""`python -m orchestrator status [--date D] [--json]`: is the day published, and if not, why?

For one day (default: the newest day any extract has landed for), from three records, each the truth of
one question:
- the landing (`orchestrator.landing.gate`): which extracts have landed and when (`_SUCCESS` markers);
- the warehouse's ledger (`orchestrator.ledger`): whether the day is published, when and by which load (the
  first complete load whose window holds it; a later failed or aborted attempt never unpublishes it), and
  every recorded attempt with its error line, plain dbt runs included;
- the execution history: also every alert each execution published (its `Notify …` states);
- the execution history: what is running now, every execution that tried the day and where a failed one
  stopped (its failed task), the newest one's states with their durations.
The verdict is against the deadline: `--deadline HH:MM` (default 09:00) of the day after, in
STORE_SALES_SCHEDULE_TIME_ZONE (default UTC), as the deadline check on AWS (`orchestrator.runtime.deadline`).
A day not yet published also gets a forecast (`orchestrator.runtime.eta`): its ETA from the durations of
the newest successful daily executions, and whether the deadline is at risk, and why.

Exit codes: 0 published by the deadline; 1 failed, published late, or not started once the deadline has
passed; 3 running, or not started yet before the deadline.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from orchestrator.cli import display
from orchestrator.errors import ExitCode, UsageError
from orchestrator.executions.launcher import ExecutionResult, StateStatus
from orchestrator.landing import gate as landing_gate
from orchestrator.ledger import LedgerEntry
from orchestrator.runtime import eta, failure
from orchestrator.runtime.schedule import TIME_ZONE_ENV, deadline_instant
from orchestrator.runtime.step_functions import ExecutionRef, ExecutionStatus

if TYPE_CHECKING:
    from orchestrator import charts


class Verdict(StrEnum):
    PUBLISHED = "published"
    PUBLISHED_LATE = "published late"
    FAILED = "failed"
    RUNNING = "running"
    WAITING = "not started"
    MISSED = "not started, deadline passed"


EXIT_CODES = {
    Verdict.PUBLISHED: ExitCode.OK,
    Verdict.PUBLISHED_LATE: ExitCode.PIPELINE_FAILED,
    Verdict.FAILED: ExitCode.PIPELINE_FAILED,
    Verdict.MISSED: ExitCode.PIPELINE_FAILED,
    Verdict.RUNNING: ExitCode.TIMED_OUT,
    Verdict.WAITING: ExitCode.TIMED_OUT,
}


@dataclass(frozen=True)
class Attempt:
    """One try at the day: an execution (from the history, with its ledger row when it wrote one) or a plain
    dbt catch-up (from the ledger alone)."""

    name: str
    status: str
    started: datetime
    finished: datetime | None
    published: bool  # a complete load of its window, so it published the day
    task: str | None = None  # the task that failed
    error: str | None = None  # its one line
    rows_written: dict[str, int] = field(default_factory=dict)
    anomalies: tuple[str, ...] = ()
    plain_dbt: bool = False
    alerts: tuple[str, ...] = ()  # what the execution published to the alert topic

    def to_dict(self) -> dict[str, Any]:
        return {
            "execution": self.name,
            "source": "plain dbt run" if self.plain_dbt else "execution",
            "status": self.status,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "published": self.published,
            "task": self.task,
            "error": self.error,
            "rows_written": self.rows_written,
            "alerts": list(self.alerts),
        }


@dataclass(frozen=True)
class DayStatus:
    day: date
    deadline: datetime
    arrivals: list[landing_gate.Arrival]
    attempts: list[Attempt]
    execution: ExecutionResult | None  # the newest execution that tried the day, for its states
    verdict: Verdict
    running_locally: str | None = None
    warnings: list[str] = field(default_factory=list)
    forecast: eta.Forecast | None = None  # a day not yet published: its ETA and whether it is at risk

    @property
    def exit_code(self) -> ExitCode:
        return EXIT_CODES[self.verdict]

    @property
    def published_by(self) -> Attempt | None:
        """The load that published the day: the first to finish of the complete loads whose window holds it."""
        loads = [attempt for attempt in self.attempts if attempt.published and attempt.finished is not None]
        return min(loads, key=lambda attempt: attempt.finished or attempt.started, default=None)

    def to_dict(self) -> dict[str, Any]:
        published = self.published_by
        return {
            "day": self.day.isoformat(),
            "verdict": self.verdict.value,
            "deadline": self.deadline.isoformat(),
            "landing": {
                a.extract: {"landed_at": a.landed_at.isoformat() if a.landed_at else None, "problem": a.problem}
                for a in self.arrivals
            },
            "published": None
            if published is None
            else {
                "execution": published.name,
                "finished": published.finished.isoformat() if published.finished else None,
                "rows_written": published.rows_written,
            },
            "attempts": [attempt.to_dict() for attempt in self.attempts],
            "execution": self.execution.to_dict() if self.execution else None,
            "running_locally": self.running_locally,
            "warnings": self.warnings,
            "forecast": self.forecast.to_dict() if self.forecast else None,
        }


def deadline_of(day: date, deadline: str, time_zone: str) -> datetime:
    """The instant the day's reports are due: `deadline` (HH:MM) on the day after, in `time_zone`."""
    try:
        due = time.fromisoformat(deadline)
    except ValueError:
        raise UsageError(f"--deadline {deadline!r} is not a time of day: write it as HH:MM, e.g. 09:00") from None
    return deadline_instant(day, due, time_zone)


def attempts_at(executions: list[ExecutionResult], loads: list[LedgerEntry]) -> list[Attempt]:
    """Every try at the day, oldest first: each execution with what its ledger row says (published, rows, its
    error line), and each ledger row no execution in the history accounts for (a plain dbt run)."""
    recorded = {entry.execution: entry for entry in loads}
    found: list[Attempt] = []
    for execution in executions:
        entry = recorded.pop(execution.ref.name, None)
        task, line = failure_of(execution)
        found.append(
            Attempt(
                name=execution.ref.name,
                status=execution.ref.status.value,
                started=execution.ref.started,
                finished=execution.ref.stopped,
                published=entry is not None and entry.published,
                task=task,
                error=line or (entry.error if entry else None),
                rows_written=dict(entry.rows_written) if entry else {},
                anomalies=entry.anomalies if entry else (),
                alerts=tuple(execution.alerts()),
            )
        )
    for entry in recorded.values():
        found.append(
            Attempt(
                name=entry.execution,
                status=entry.status,
                started=entry.started,
                finished=entry.finished,
                published=entry.published,
                error=entry.error,
                rows_written=dict(entry.rows_written),
                anomalies=entry.anomalies,
                plain_dbt=entry.by_plain_dbt,
            )
        )
    return sorted(found, key=lambda attempt: attempt.started)


def failure_of(execution: ExecutionResult) -> tuple[str | None, str | None]:
    """The task whose state failed (from `Build <task>[ on Lambda|ECS]`) and the execution's error line."""
    task = next(
        (
            state.name.split()[1]
            for state in execution.states
            if state.status is StateStatus.FAILED and state.name.startswith("Build ")
        ),
        None,
    )
    if execution.ref.status is ExecutionStatus.SUCCEEDED:
        return None, None
    return task, failure.line_of(execution.error, execution.cause)


def judge(
    day: date,
    deadline: datetime,
    arrivals: list[landing_gate.Arrival],
    executions: list[ExecutionResult],
    loads: list[LedgerEntry],
    running_locally: str | None,
    now: datetime,
    past: Sequence[ExecutionRef] = (),
) -> DayStatus:
    """The day's verdict: published (on time or late) once a complete load of it succeeded, whatever came
    after; else running, failed, or not started (before or after the deadline), with a forecast
    (`orchestrator.runtime.eta`) from the run durations of the `past` executions."""
    attempts = attempts_at(executions, loads)
    newest = executions[-1] if executions else None
    draft = DayStatus(day, deadline, arrivals, attempts, newest, Verdict.WAITING, running_locally)
    published = draft.published_by
    if published is not None:
        verdict = Verdict.PUBLISHED if (published.finished or now) <= deadline else Verdict.PUBLISHED_LATE
        warnings = list(published.anomalies)
    else:
        running = running_locally is not None or any(
            execution.ref.status is ExecutionStatus.RUNNING for execution in executions
        )
        if running:
            verdict = Verdict.RUNNING
        elif attempts:
            verdict = Verdict.FAILED
        else:
            verdict = Verdict.MISSED if now > deadline else Verdict.WAITING
        warnings = display.warnings_of(display.task_summaries(newest)) if newest else []
    forecast = None
    in_flight = next((e.ref for e in reversed(executions) if e.ref.status is ExecutionStatus.RUNNING), None)
    if published is None and (in_flight is not None or running_locally is None):
        failed = newest.ref if newest is not None and verdict is Verdict.FAILED else None
        forecast = eta.forecast(deadline, now, arrivals, in_flight, failed, eta.run_seconds(past))
    return DayStatus(day, deadline, arrivals, attempts, newest, verdict, running_locally, warnings, forecast)


def morning(verdict: DayStatus, executions: list[ExecutionResult]) -> charts.Morning:
    """The day's morning for `status --plot`: its arrivals, every task run of the executions that tried it (its
    `Build <task>` states), its deadline and its outcome."""
    from orchestrator import charts

    tasks = [
        (state.name.split()[1], state.entered, state.exited)
        for execution in executions
        for state in execution.states
        if state.name.startswith("Build ")
    ]
    if verdict.verdict is Verdict.PUBLISHED:
        outcome = charts.Outcome.WARNED if verdict.warnings else charts.Outcome.ON_TIME
    elif verdict.verdict is Verdict.PUBLISHED_LATE:
        outcome = charts.Outcome.LATE
    elif verdict.exit_code is ExitCode.TIMED_OUT:  # running, or not started before the deadline: still in time
        outcome = charts.Outcome.PENDING
    else:
        outcome = charts.Outcome.NOT_PUBLISHED
    landed = {arrival.extract: arrival.landed_at for arrival in verdict.arrivals}
    return charts.Morning(verdict.day, verdict.deadline, landed, tasks, outcome)


def time_zone() -> str:
    return os.environ.get(TIME_ZONE_ENV) or "UTC"


def show(status: DayStatus, as_json: bool) -> None:
    if as_json:
        print(json.dumps(status.to_dict(), indent=2, sort_keys=True, default=str))
        return
    print(f"{status.day}: {status.verdict.value} (deadline {status.deadline.isoformat(timespec='minutes')})")
    if status.forecast is not None:
        print(f"  {status.forecast.line()}")
    for arrival in status.arrivals:
        when = _when(arrival.landed_at) if arrival.landed_at else "—"
        print(f"  {arrival.extract:<17} landed {when}" + (f"; {arrival.problem}" if arrival.problem else ""))
    if status.running_locally is not None:
        print(f"  a local run is in progress ({status.running_locally})")
    published = status.published_by
    if not status.attempts:
        print("  no execution has loaded the day yet")
    for attempt in status.attempts:
        print(f"  {_attempt_line(attempt, published)}")
        for alert in attempt.alerts:
            print(f"    alert sent: {alert}")
    execution = status.execution
    if execution is not None:
        ref = execution.ref
        stopped = _when(ref.stopped) if ref.stopped else "still running"
        print(f"  newest execution {ref.name}: {ref.status.value}, {_when(ref.started)} .. {stopped}")
        for state in execution.states:
            seconds = "" if state.seconds is None else f" {state.seconds:.1f} s"
            print(f"    {state.name}: {state.status.value}{seconds}")
    for line in status.warnings:
        print(f"  published with a warning: {line}")


def _attempt_line(attempt: Attempt, published: Attempt | None) -> str:
    """One attempt as a sentence: who published the day, or what happened to a try before or after it."""
    who = f"{attempt.name} (plain dbt)" if attempt.plain_dbt else attempt.name
    rows = ", ".join(f"{model} {count}" for model, count in sorted(attempt.rows_written.items()))
    if attempt is published:
        return f"published {_when(attempt.finished)} by {who}" + (f" (rows: {rows})" if rows else "")
    kind = "rerun" if published is not None and attempt.started > published.started else "attempt"
    if attempt.status == ExecutionStatus.RUNNING.value:
        return f"{kind} {who} running since {_when(attempt.started)}"
    at = _when(attempt.finished) if attempt.finished else "an unknown time"
    line = f"{kind} {who} {attempt.status.lower()} at {at}"
    if attempt.task:
        line += f" in task {attempt.task}"
    if attempt.error:
        line += f": {attempt.error}"
    if attempt.status == ExecutionStatus.SUCCEEDED.value and not attempt.published:
        line += " (selected models only: not a complete load)"
    if published is not None and attempt.started > published.started:
        line += " (the published data is unchanged)"
    return line


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"
