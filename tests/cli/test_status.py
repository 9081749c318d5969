"""The status verdicts and their exit codes (`orchestrator.cli.status.judge`), for every case the clock decides,
and what a later failed rerun and a plain dbt catch-up do to a day; the command itself runs in
tests/cli/test_landing_arrival.py and tests/cli/test_one_truth.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from orchestrator.cli import status
from orchestrator.errors import ConfigurationError, ExitCode, UsageError
from orchestrator.executions.launcher import ExecutionResult
from orchestrator.landing.contract import EXTRACTS
from orchestrator.landing.gate import Arrival
from orchestrator.ledger import LedgerEntry
from orchestrator.protocol import ExecutionRequest
from orchestrator.runtime.step_functions import ExecutionRef, ExecutionStatus
from orchestrator.window import RefreshWindow

DAY = date(2002, 12, 31)
DEADLINE = status.deadline_of(DAY, "09:00", "America/New_York")


def execution(state: ExecutionStatus, stopped: datetime | None, attempt: int = 1) -> ExecutionResult:
    started = DEADLINE - timedelta(hours=2) + timedelta(minutes=attempt)
    ref = ExecutionRef("arn", f"store-sales-{DAY}-r{attempt}", state, started, stopped)
    return ExecutionResult(ref, ExecutionRequest(RefreshWindow.day(DAY)))


def recorded(run: ExecutionResult, published: bool, error: str | None = None) -> LedgerEntry:
    """The ledger row the execution's last state writes (SUCCEEDED or FAILED)."""
    return LedgerEntry(
        execution=run.ref.name,
        window=RefreshWindow.day(DAY),
        started=run.ref.started,
        finished=run.ref.stopped,
        status=run.ref.status.value,
        selection=None,
        published=published,
        rows_written={"fct_store_sales": 5312},
        anomalies=(),
        error=error,
        allowed_gap=False,
    )


@pytest.mark.parametrize(
    ("state", "stopped", "now", "running_locally", "verdict", "code"),
    [
        (ExecutionStatus.SUCCEEDED, DEADLINE - timedelta(minutes=1), DEADLINE, None, "published", ExitCode.OK),
        (ExecutionStatus.SUCCEEDED, DEADLINE + timedelta(minutes=1), DEADLINE, None, "published late", 1),
        (ExecutionStatus.FAILED, DEADLINE - timedelta(hours=1), DEADLINE, None, "failed", 1),
        (ExecutionStatus.ABORTED, DEADLINE - timedelta(hours=1), DEADLINE, None, "failed", 1),
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
    runs = [] if state is None else [execution(state, stopped)]
    loads = [recorded(run, run.ref.status is ExecutionStatus.SUCCEEDED) for run in runs if run.ref.stopped]
    loads = [load for load in loads if load.status != "ABORTED"]  # an execution stopped from outside writes none
    judged = status.judge(DAY, DEADLINE, [], runs, loads, running_locally, now)
    assert (judged.verdict.value, judged.exit_code) == (verdict, code)


def test_a_failed_rerun_leaves_a_published_day_published_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    published = execution(ExecutionStatus.SUCCEEDED, DEADLINE - timedelta(minutes=50), attempt=1)
    rerun = execution(ExecutionStatus.FAILED, DEADLINE + timedelta(hours=1), attempt=2)
    loads = [recorded(published, True), recorded(rerun, False, "LandingIncomplete: item 2002-12-31: not delivered")]
    judged = status.judge(DAY, DEADLINE, [], [published, rerun], loads, None, DEADLINE + timedelta(hours=2))
    assert (judged.verdict.value, judged.exit_code) == ("published", ExitCode.OK)
    document = judged.to_dict()
    assert document["published"]["execution"] == f"store-sales-{DAY}-r1"
    assert [(a["execution"], a["status"], a["published"]) for a in document["attempts"]] == [
        (f"store-sales-{DAY}-r1", "SUCCEEDED", True),
        (f"store-sales-{DAY}-r2", "FAILED", False),
    ]
    status.show(judged, as_json=False)
    shown = capsys.readouterr().out
    assert "  published 2003-01-01 13:10 UTC by store-sales-2002-12-31-r1 (rows: fct_store_sales 5312)" in shown
    assert (
        "  rerun store-sales-2002-12-31-r2 failed at 2003-01-01 15:00 UTC: "
        "LandingIncomplete: item 2002-12-31: not delivered (the published data is unchanged)"
    ) in shown


def test_a_plain_dbt_catch_up_publishes_the_days_it_loaded() -> None:
    started = DEADLINE - timedelta(hours=3)
    catch_up = LedgerEntry(
        execution="dbt-1f0c",
        window=RefreshWindow(DAY - timedelta(days=2), DAY),
        started=started,
        finished=started + timedelta(minutes=1),
        status="SUCCEEDED",
        selection=None,
        published=True,
        rows_written={},
        anomalies=(),
        error=None,
        allowed_gap=False,
    )
    judged = status.judge(DAY, DEADLINE, [], [], [catch_up], None, DEADLINE)
    assert (judged.verdict.value, judged.exit_code) == ("published", ExitCode.OK)
    assert judged.to_dict()["attempts"][0]["source"] == "plain dbt run"


def test_the_deadline_is_the_next_morning_in_the_schedule_zone() -> None:
    assert datetime(2003, 1, 1, 14, 0, tzinfo=UTC) == DEADLINE
    with pytest.raises(UsageError, match="--deadline '9h'"):
        status.deadline_of(DAY, "9h", "UTC")
    with pytest.raises(ConfigurationError, match="'Mars/Olympus'"):
        status.deadline_of(DAY, "09:00", "Mars/Olympus")


@pytest.mark.parametrize(
    ("state", "at_risk", "line"),
    [
        (ExecutionStatus.FAILED, True, f"at risk: the last attempt, store-sales-{DAY}-r1, failed: a rerun is needed"),
        (ExecutionStatus.SUCCEEDED, None, None),
    ],
)
def test_status_carries_the_forecast_of_a_day_not_yet_published_and_none_once_published(
    state: ExecutionStatus, at_risk: bool | None, line: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    run = execution(state, DEADLINE - timedelta(minutes=80))
    landed = [Arrival(extract, DEADLINE - timedelta(hours=3), None) for extract in EXTRACTS]
    past = [  # the 20 mornings before: 6-minute daily runs
        ExecutionRef("arn", f"store-sales-{DAY - timedelta(days=n)}-r1", ExecutionStatus.SUCCEEDED, start, end)
        for n in range(1, 21)
        for start in [DEADLINE - timedelta(days=n, hours=2)]
        for end in [start + timedelta(minutes=6)]
    ]
    now = DEADLINE - timedelta(minutes=30)
    judged = status.judge(
        DAY, DEADLINE, landed, [run], [recorded(run, state is ExecutionStatus.SUCCEEDED)], None, now, past
    )
    assert (judged.to_dict()["forecast"] or {}).get("at_risk") == at_risk
    status.show(judged, as_json=False)
    printed = capsys.readouterr().out.splitlines()
    if line is None:
        assert judged.forecast is None and not any("ETA" in text or "at risk" in text for text in printed)
    else:
        assert printed[1].startswith(f"  {line}; ETA 08:36; a run needs ~6 min")
