"""When will the day's reports be out, and is the deadline at risk while there is still time to act?

A forecast is made from what is known now, never from a guess about the future:
- how long a run takes: the 90th percentile (nearest rank) of the last RECENT_RUNS successful one-day
  executions in the history (`run_seconds`); with none, it is unknown and said so;
- which extracts have landed (their `_SUCCESS` markers) and whether an execution of the day is running.

The judgement (`forecast`), for a day not yet published:
- running: ETA = its start + a run's duration; at risk when the ETA is past the deadline, or once it has
  run longer than a run takes; no ETA for an execution whose window is longer than a day (a backfill);
- every extract landed, nothing running: ETA = now + a run's duration; at risk when that is past the
  deadline, or when the last attempt failed (someone has to act: a rerun); with no duration known, no ETA;
- an extract missing: no ETA; at risk once the time left is under AT_RISK_LEAD_MINUTES or under twice a
  run's duration, whichever is longer (an extract still missing an hour before the deadline needs a person,
  by the first checkpoint of a 09:00 deadline; one missing at 02:00 is only waiting);
- the deadline passed: at risk (late).
A published day has no forecast. `status` shows it on AWS and locally, except while a local run holds the
data directory's lock (the local journal records an execution when it ends, so its start is not known yet).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orchestrator.landing.gate import Arrival
from orchestrator.runtime.step_functions import ExecutionRef, ExecutionStatus

RECENT_RUNS = 20
PERCENTILE = 0.9
AT_RISK_LEAD_MINUTES = 60


@dataclass(frozen=True)
class RunDuration:
    """How long a daily run takes: the PERCENTILE of the `based_on` newest successful one-day executions."""

    seconds: float | None
    based_on: int

    def text(self) -> str:
        if self.seconds is None:
            return "a run's duration is unknown (no successful one-day execution in the history)"
        return f"a run needs ~{_minutes(self.seconds)} (p90 of the last {self.based_on} daily runs)"


@dataclass(frozen=True)
class Forecast:
    """The day's expected finish and whether the deadline is at risk, with the reasons in words."""

    deadline: datetime
    now: datetime
    eta: datetime | None
    at_risk: bool
    reasons: tuple[str, ...]
    duration: RunDuration = field(default_factory=lambda: RunDuration(None, 0))

    @property
    def seconds_left(self) -> float:
        return (self.deadline - self.now).total_seconds()

    def line(self) -> str:
        """`on track: ETA 07:42 (deadline 09:00)` or `at risk: item has not landed; a run needs ~6 min; 14 min
        left`, times in the deadline's time zone."""
        zone = self.deadline.tzinfo
        due = self.deadline.strftime("%H:%M")
        if not self.at_risk and self.eta is not None:
            return f"on track: ETA {self.eta.astimezone(zone):%H:%M} (deadline {due})"
        if self.seconds_left <= 0:
            return f"late: the deadline {due} has passed; {self.duration.text()}"
        left = f"{_minutes(self.seconds_left)} left"
        head = "at risk" if self.at_risk else "no ETA yet"
        eta = f"; ETA {self.eta.astimezone(zone):%H:%M}" if self.eta is not None else ""
        return f"{head}: {'; '.join(self.reasons)}{eta}; {self.duration.text()}; {left} (deadline {due})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "eta": self.eta.isoformat() if self.eta else None,
            "at_risk": self.at_risk,
            "why": list(self.reasons),
            "run_seconds": self.duration.seconds,
            "run_seconds_based_on": self.duration.based_on,
            "seconds_left": round(self.seconds_left),
        }


def run_seconds(history: Sequence[ExecutionRef]) -> RunDuration:
    """The PERCENTILE (nearest rank) of the durations of the RECENT_RUNS newest successful one-day executions."""
    daily = [
        ref for ref in history if ref.status is ExecutionStatus.SUCCEEDED and ref.seconds is not None and _one_day(ref)
    ]
    newest = sorted(daily, key=lambda ref: ref.started, reverse=True)[:RECENT_RUNS]
    durations = sorted(float(ref.seconds or 0.0) for ref in newest)
    if not durations:
        return RunDuration(None, 0)
    rank = max(math.ceil(PERCENTILE * len(durations)), 1)
    return RunDuration(durations[rank - 1], len(durations))


def forecast(
    deadline: datetime,
    now: datetime,
    arrivals: Sequence[Arrival],
    running: ExecutionRef | None,
    failed: ExecutionRef | None,
    duration: RunDuration,
) -> Forecast:
    """The forecast of a day not yet published (see the module's docstring for the rules)."""
    need = timedelta(seconds=duration.seconds) if duration.seconds is not None else None
    reasons: tuple[str, ...]
    if now > deadline:
        return Forecast(deadline, now, None, True, ("the deadline has passed",), duration)
    if running is not None:
        since = f"{running.name} running since {running.started.astimezone(deadline.tzinfo):%H:%M}"
        window = running.window
        if window is not None and window.days > 1:  # a daily run's length says nothing of a longer window
            return Forecast(deadline, now, None, False, (f"{since}, a window of {window.days} days",), duration)
        if need is None:
            return Forecast(deadline, now, None, False, (since,), duration)
        eta = running.started + need
        if now > eta:  # longer than a run takes: someone should look before the deadline
            overrun = f"{since}, {_minutes((now - running.started).total_seconds())} so far"
            return Forecast(deadline, now, None, True, (f"{overrun}: longer than a run takes",), duration)
        return Forecast(deadline, now, eta, eta > deadline, (since,), duration)
    missing = [arrival.extract for arrival in arrivals if arrival.landed_at is None]
    broken = [f"{a.extract}: {a.problem}" for a in arrivals if a.landed_at is not None and a.problem is not None]
    if missing or broken:
        reasons = tuple(f"{extract} has not landed" for extract in missing) + tuple(broken)
        lead = max(timedelta(minutes=AT_RISK_LEAD_MINUTES), 2 * need if need is not None else timedelta(0))
        return Forecast(deadline, now, None, deadline - now <= lead, reasons, duration)
    expected = now + need if need is not None else None
    if failed is not None:
        reasons = (f"the last attempt, {failed.name}, {failed.status.value.lower()}: a rerun is needed",)
        return Forecast(deadline, now, expected, True, reasons, duration)
    reasons = ("every extract has landed; no execution has started yet",)
    return Forecast(deadline, now, expected, expected is not None and expected > deadline, reasons, duration)


def _one_day(ref: ExecutionRef) -> bool:
    window = ref.window
    return window is not None and window.days == 1


def _minutes(seconds: float) -> str:
    minutes = max(math.ceil(seconds / 60), 1)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"
