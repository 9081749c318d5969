"""`python -m orchestrator status [--date D] [--json]`: is the day published, and if not, why?

For one day (default: the newest day any extract has landed for): which extracts have landed and when (the
`_SUCCESS` markers, `orchestrator.runtime.landing_gate`), the newest execution whose window holds the day (name,
status, start, end, each state's duration), the volume check's warnings, and whether it was published by
the deadline: `--deadline HH:MM` (default 09:00) of the day after, in STORE_SALES_SCHEDULE_TIME_ZONE
(default UTC), as the deadline check on AWS (`orchestrator.executions.deadline`).

Exit codes: 0 published by the deadline; 1 failed, published late, or not started once the deadline has
passed; 3 running, or not started yet before the deadline.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from orchestrator.cli import display
from orchestrator.errors import ExitCode, UsageError
from orchestrator.executions.launcher import ExecutionResult, ExecutionStatus
from orchestrator.executions.schedule import TIME_ZONE_ENV, schedule_zone
from orchestrator.runtime import landing_gate


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
class DayStatus:
    day: date
    deadline: datetime
    arrivals: list[landing_gate.Arrival]
    execution: ExecutionResult | None
    verdict: Verdict
    running_locally: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return EXIT_CODES[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "verdict": self.verdict.value,
            "deadline": self.deadline.isoformat(),
            "landing": {
                a.extract: {"landed_at": a.landed_at.isoformat() if a.landed_at else None, "problem": a.problem}
                for a in self.arrivals
            },
            "execution": self.execution.to_dict() if self.execution else None,
            "running_locally": self.running_locally,
            "warnings": self.warnings,
        }


def deadline_of(day: date, deadline: str, time_zone: str) -> datetime:
    """The instant the day's reports are due: `deadline` (HH:MM) on the day after, in `time_zone`."""
    try:
        due = time.fromisoformat(deadline)
    except ValueError:
        raise UsageError(f"--deadline {deadline!r} is not a time of day: write it as HH:MM, e.g. 09:00") from None
    return datetime.combine(day + timedelta(days=1), due, tzinfo=schedule_zone(time_zone))


def judge(
    day: date,
    deadline: datetime,
    arrivals: list[landing_gate.Arrival],
    execution: ExecutionResult | None,
    running_locally: str | None,
    now: datetime,
) -> DayStatus:
    """The day's verdict from what landed, the execution and the time."""
    warnings = display.warnings_of(display.task_summaries(execution)) if execution else []
    if running_locally is not None:
        verdict = Verdict.RUNNING
    elif execution is None:
        verdict = Verdict.MISSED if now > deadline else Verdict.WAITING
    elif execution.ref.status is ExecutionStatus.RUNNING:
        verdict = Verdict.RUNNING
    elif execution.ref.status is ExecutionStatus.SUCCEEDED:
        stopped = execution.ref.stopped or now
        verdict = Verdict.PUBLISHED if stopped <= deadline else Verdict.PUBLISHED_LATE
    else:
        verdict = Verdict.FAILED
    return DayStatus(day, deadline, arrivals, execution, verdict, running_locally, warnings)


def time_zone() -> str:
    return os.environ.get(TIME_ZONE_ENV) or "UTC"


def show(status: DayStatus, as_json: bool) -> None:
    if as_json:
        print(json.dumps(status.to_dict(), indent=2, sort_keys=True, default=str))
        return
    print(f"{status.day}: {status.verdict.value} (deadline {status.deadline.isoformat(timespec='minutes')})")
    for arrival in status.arrivals:
        when = arrival.landed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if arrival.landed_at else "—"
        print(f"  {arrival.extract:<17} landed {when}" + (f"; {arrival.problem}" if arrival.problem else ""))
    if status.running_locally is not None:
        print(f"  a local run is in progress ({status.running_locally})")
    execution = status.execution
    if execution is None:
        print("  no execution has loaded the day yet")
        return
    ref = execution.ref
    started = ref.started.isoformat(timespec="seconds")
    stopped = ref.stopped.isoformat(timespec="seconds") if ref.stopped else "still running"
    print(f"  {ref.name}: {ref.status.value}, {started} .. {stopped}")
    for state in execution.states:
        seconds = "" if state.seconds is None else f" {state.seconds:.1f} s"
        print(f"    {state.name}: {state.status.value}{seconds}")
    if execution.error:
        print(f"  failed: {execution.error}: {display.readable_cause(execution.cause)}")
    for line in status.warnings:
        print(f"  published with a warning: {line}")
