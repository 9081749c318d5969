"""The schedules' clock: which day a scheduled invocation stands for, read by the trigger (the 07:00 start) and
the deadline check alike.

EventBridge Scheduler fires in the schedule's time zone and passes `<aws.scheduler.scheduled-time>` (UTC, e.g.
`2024-03-10T11:00:00Z`). Scheduler cannot compute a date, and "yesterday" depends on the time zone (07:00 in
Auckland is 18:00 UTC the day before), so the day is the scheduled time's date in the schedule's zone
(STORE_SALES_SCHEDULE_TIME_ZONE, an IANA name) minus one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from orchestrator import settings
from orchestrator.errors import RunnerPayloadError

STATE_MACHINE_ENV = settings.STATE_MACHINE_ARN.name
TIME_ZONE_ENV = settings.SCHEDULE_TIME_ZONE.name
SCHEDULED_TIME_KEY = "scheduled_time"  # the daily schedule's input key
DEADLINE_KEY = "deadline_check"  # the deadline schedule's input key
AT_RISK_KEY = "at_risk_check"  # the at-risk checkpoints' input key


def schedule_zone(time_zone: str) -> ZoneInfo:
    """The schedule's time zone (STORE_SALES_SCHEDULE_TIME_ZONE), or a ConfigurationError naming it (the settings
    registry's rule, the one `deploy` applies to --schedule-time-zone)."""
    settings.SCHEDULE_TIME_ZONE.check(time_zone)
    return ZoneInfo(time_zone)


def scheduled_instant(scheduled_time: str) -> datetime:
    """Scheduler's `<aws.scheduler.scheduled-time>` (UTC when it names no zone) as an aware datetime."""
    try:
        instant = datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
    except ValueError:
        raise RunnerPayloadError(
            f"the schedule's time {scheduled_time!r} is not an ISO timestamp such as 2024-03-10T11:00:00Z "
            "(the input's <aws.scheduler.scheduled-time>)"
        ) from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def deadline_instant(day: date, due: time, time_zone: str) -> datetime:
    """The instant day `day`'s reports are due: `due` on the day after, in `time_zone`."""
    return datetime.combine(day + timedelta(days=1), due, tzinfo=schedule_zone(time_zone))


def refresh_date(scheduled_time: str, time_zone: str) -> date:
    """The day before the scheduled time's date in `time_zone`."""
    zone = schedule_zone(time_zone)
    return scheduled_instant(scheduled_time).astimezone(zone).date() - timedelta(days=1)
