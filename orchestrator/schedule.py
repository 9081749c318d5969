"""The daily trigger: `orchestrator.schedule.handler`, invoked by the EventBridge Scheduler schedule.

The schedule fires at 07:00 in its time zone and passes `{"scheduled_time": "<aws.scheduler.scheduled-time>"}`
(UTC, e.g. `2024-03-10T11:00:00Z`). Scheduler cannot compute a date, and "yesterday" depends on the time
zone (07:00 in Auckland is 18:00 UTC the day before), so this function converts the scheduled time to
the schedule's zone (STORE_SALES_SCHEDULE_TIME_ZONE, an IANA name) and starts the execution for the
window [yesterday, yesterday] through `orchestrator.launcher.start`: the same execution names, input and
overlap guard as `python -m orchestrator run`. The state machine comes from STORE_SALES_STATE_MACHINE_ARN.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orchestrator import launcher
from orchestrator.errors import ConfigurationError, RunnerPayloadError
from orchestrator.window import RefreshWindow

STATE_MACHINE_ENV = "STORE_SALES_STATE_MACHINE_ARN"
TIME_ZONE_ENV = "STORE_SALES_SCHEDULE_TIME_ZONE"
SCHEDULED_TIME_KEY = "scheduled_time"
DEADLINE_KEY = "deadline_check"  # the deadline schedule's input key (orchestrator.deadline)


def refresh_date(scheduled_time: str, time_zone: str) -> date:
    """The day before the scheduled time's date in `time_zone`."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{TIME_ZONE_ENV}={time_zone!r} is not an IANA time zone: use a name like America/New_York or UTC"
        ) from None
    try:
        instant = datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
    except ValueError:
        raise RunnerPayloadError(
            f"{SCHEDULED_TIME_KEY} {scheduled_time!r} is not an ISO timestamp such as 2024-03-10T11:00:00Z"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(zone).date() - timedelta(days=1)


def start_daily(event: Mapping[str, Any], env: Mapping[str, str], sfn: Any) -> launcher.ExecutionRef:
    """Start the execution for yesterday; raises a StoreSalesError leaf on bad input or a running overlap."""
    scheduled_time = event.get(SCHEDULED_TIME_KEY)
    if not isinstance(scheduled_time, str):
        raise RunnerPayloadError(
            f"the schedule's input must be {{{SCHEDULED_TIME_KEY!r}: '<aws.scheduler.scheduled-time>'}}, got {event!r}"
        )
    state_machine_arn = env.get(STATE_MACHINE_ENV)
    if not state_machine_arn:
        raise ConfigurationError(f"{STATE_MACHINE_ENV} is not set: the trigger function cannot start anything")
    day = refresh_date(scheduled_time, env.get(TIME_ZONE_ENV) or "UTC")
    return launcher.start(sfn, state_machine_arn, launcher.ExecutionRequest(window=RefreshWindow.day(day)))


def handler(event: Mapping[str, Any], context: Any) -> dict[str, str]:
    """Lambda entrypoint of both schedules (the 07:00 start and the deadline check, `orchestrator.deadline`);
    a failure goes to the function's dead-letter topic (the alert topic)."""
    import boto3

    if DEADLINE_KEY in event:
        from orchestrator import deadline

        verdict = deadline.alert(
            event, os.environ, boto3.client("stepfunctions"), boto3.client("sns"), boto3.client("s3")
        )
        print(verdict.message)
        return {"day": verdict.day.isoformat(), "published": str(verdict.published).lower()}
    ref = start_daily(event, os.environ, boto3.client("stepfunctions"))
    print(f"started {ref.name} ({ref.arn})")
    return {"execution_arn": ref.arn, "name": ref.name}
