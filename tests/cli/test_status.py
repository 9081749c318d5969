"""The status verdicts and their exit codes (`orchestrator.cli.status.judge`), for every case the clock decides;
the command itself runs in tests/cli/test_landing_arrival.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from orchestrator.cli import status
from orchestrator.errors import ConfigurationError, ExitCode, UsageError
from orchestrator.executions.launcher import ExecutionRef, ExecutionResult, ExecutionStatus
from orchestrator.protocol import ExecutionRequest
from orchestrator.window import RefreshWindow

DAY = date(2002, 12, 31)
DEADLINE = status.deadline_of(DAY, "09:00", "America/New_York")


def execution(state: ExecutionStatus, stopped: datetime | None) -> ExecutionResult:
    ref = ExecutionRef("arn", f"store-sales-{DAY}-r1", state, DEADLINE - timedelta(hours=2), stopped)
    return ExecutionResult(ref, ExecutionRequest(RefreshWindow.day(DAY)))


@pytest.mark.parametrize(
    ("state", "stopped", "now", "running_locally", "verdict", "code"),
    [
        (ExecutionStatus.SUCCEEDED, DEADLINE - timedelta(minutes=1), DEADLINE, None, "published", ExitCode.OK),
        (ExecutionStatus.SUCCEEDED, DEADLINE + timedelta(minutes=1), DEADLINE, None, "published late", 1),
        (ExecutionStatus.FAILED, DEADLINE - timedelta(hours=1), DEADLINE, None, "failed", 1),
        (ExecutionStatus.RUNNING, None, DEADLINE + timedelta(hours=1), None, "running", 3),
        (None, None, DEADLINE - timedelta(hours=1), None, "not started", 3),
        (None, None, DEADLINE + timedelta(seconds=1), None, "not started, deadline passed", 1),
        (None, None, DEADLINE, "pid 42", "running", 3),
    ],
)
def test_verdicts_and_exit_codes(
    state: ExecutionStatus | None,
    stopped: datetime | None,
    now: datetime,
    running_locally: str | None,
    verdict: str,
    code: int,
) -> None:
    found = None if state is None else execution(state, stopped)
    judged = status.judge(DAY, DEADLINE, [], found, running_locally, now)
    assert (judged.verdict.value, judged.exit_code) == (verdict, code)


def test_the_deadline_is_the_next_morning_in_the_schedule_zone() -> None:
    assert datetime(2003, 1, 1, 14, 0, tzinfo=UTC) == DEADLINE
    with pytest.raises(UsageError, match="--deadline '9h'"):
        status.deadline_of(DAY, "9h", "UTC")
    with pytest.raises(ConfigurationError, match="'Mars/Olympus'"):
        status.deadline_of(DAY, "09:00", "Mars/Olympus")
