"""The ETA and the "at risk" judgement (`orchestrator.runtime.eta`) on constructed histories: on track, at risk
for a missing extract, for a slow run and for one running too long, late; how `status` carries it (a failed
attempt, nothing once published) is in tests/cli/test_status.py."""

from __future__ import annotations

from datetime import date, timedelta

from orchestrator.cli import status
from orchestrator.landing.gate import Arrival
from orchestrator.runtime import eta
from orchestrator.runtime.step_functions import ExecutionRef, ExecutionStatus

DAY = date(2002, 12, 31)
DEADLINE = status.deadline_of(DAY, "09:00", "America/New_York")
LANDED = [
    Arrival(extract, DEADLINE - timedelta(hours=3), None) for extract in ("customer_address", "item", "store_sales")
]


def past_runs(minutes: list[float], days_back: int = 1) -> list[ExecutionRef]:
    """Successful one-day executions of the mornings before DAY, newest first, with these durations."""
    refs = []
    for back, length in enumerate(minutes, start=days_back):
        day = DAY - timedelta(days=back)
        started = DEADLINE - timedelta(days=back, hours=2)
        refs.append(
            ExecutionRef(
                "arn", f"store-sales-{day}-r1", ExecutionStatus.SUCCEEDED, started, started + timedelta(minutes=length)
            )
        )
    return refs


def test_a_run_lasts_the_90th_percentile_of_the_last_20_successful_daily_runs() -> None:
    # 25 daily runs: the 20 newest last 1..20 minutes; a failed run, a backfill and older slow runs do not count
    history = past_runs([float(m) for m in range(1, 21)] + [90.0] * 5)
    started = DEADLINE - timedelta(days=40)
    history.append(
        ExecutionRef("arn", f"store-sales-{DAY}-r9", ExecutionStatus.FAILED, started, started + timedelta(hours=5))
    )
    history.append(
        ExecutionRef(
            "arn",
            "store-sales-1998-01-02-to-2002-12-30-r1",
            ExecutionStatus.SUCCEEDED,
            started,
            started + timedelta(hours=3),
        )
    )
    duration = eta.run_seconds(history)
    assert (duration.seconds, duration.based_on) == (18 * 60.0, 20)
    assert eta.run_seconds([]) == eta.RunDuration(None, 0)


def test_every_extract_landed_and_time_enough_is_on_track_with_an_eta() -> None:
    now = DEADLINE - timedelta(hours=1, minutes=18)
    judged = eta.forecast(DEADLINE, now, LANDED, None, None, eta.run_seconds(past_runs([6.0] * 20)))
    assert not judged.at_risk and judged.eta == now + timedelta(minutes=6)
    assert judged.line() == "on track: ETA 07:48 (deadline 09:00)"
    assert judged.to_dict()["at_risk"] is False and judged.to_dict()["eta"] == judged.eta.isoformat()
    late = eta.forecast(DEADLINE, DEADLINE + timedelta(minutes=1), LANDED, None, None, eta.RunDuration(None, 0))
    assert late.at_risk and late.line() == (
        "late: the deadline 09:00 has passed; a run's duration is unknown (no successful one-day execution in the "
        "history)"
    )


def test_an_extract_missing_close_to_the_deadline_is_at_risk_and_named_early_it_is_only_waiting() -> None:
    arrivals = [*LANDED[:1], Arrival("item", None, "no _SUCCESS marker"), LANDED[2]]
    duration = eta.run_seconds(past_runs([6.0] * 20))
    late = eta.forecast(DEADLINE, DEADLINE - timedelta(minutes=45), arrivals, None, None, duration)
    assert late.at_risk and late.eta is None
    assert late.line() == (
        "at risk: item has not landed; a run needs ~6 min (p90 of the last 20 daily runs); 45 min left (deadline 09:00)"
    )
    assert late.to_dict()["why"] == ["item has not landed"]
    early = eta.forecast(DEADLINE, DEADLINE - timedelta(hours=7), arrivals, None, None, duration)
    assert not early.at_risk and early.line().startswith("no ETA yet: item has not landed;")
    # a run longer than half an hour moves the alarm earlier: twice a run before the deadline
    slow = eta.run_seconds(past_runs([50.0] * 20))
    assert eta.forecast(DEADLINE, DEADLINE - timedelta(minutes=90), arrivals, None, None, slow).at_risk


def test_a_run_that_will_end_after_the_deadline_is_at_risk_and_one_that_will_not_is_on_track() -> None:
    duration = eta.run_seconds(past_runs([40.0] * 20))
    started = DEADLINE - timedelta(minutes=30)
    running = ExecutionRef("arn", f"store-sales-{DAY}-r1", ExecutionStatus.RUNNING, started)
    slow = eta.forecast(DEADLINE, DEADLINE - timedelta(minutes=20), LANDED, running, None, duration)
    assert slow.at_risk and slow.eta == started + timedelta(minutes=40)
    assert slow.line().startswith(f"at risk: store-sales-{DAY}-r1 running since 08:30; ETA 09:10;")
    # running far longer than a run takes is at risk before the deadline, and a backfill gets no daily ETA
    stuck = ExecutionRef("arn", f"store-sales-{DAY}-r1", ExecutionStatus.RUNNING, DEADLINE - timedelta(hours=3))
    overrun = eta.forecast(DEADLINE, DEADLINE - timedelta(minutes=2), LANDED, stuck, None, duration)
    assert overrun.at_risk and overrun.eta is None
    assert overrun.line().startswith(f"at risk: store-sales-{DAY}-r1 running since 06:00, 2 h 58 min so far: longer")
    backfill = ExecutionRef(
        "arn",
        f"store-sales-{DAY - timedelta(days=9)}-to-{DAY}-r1",
        ExecutionStatus.RUNNING,
        DEADLINE - timedelta(hours=1),
    )
    long_window = eta.forecast(DEADLINE, DEADLINE - timedelta(minutes=30), LANDED, backfill, None, duration)
    assert not long_window.at_risk and long_window.eta is None and "a window of 10 days" in long_window.line()
    early = ExecutionRef("arn", f"store-sales-{DAY}-r1", ExecutionStatus.RUNNING, DEADLINE - timedelta(hours=2))
    assert eta.forecast(DEADLINE, DEADLINE - timedelta(minutes=90), LANDED, early, None, duration).line() == (
        "on track: ETA 07:40 (deadline 09:00)"
    )
