"""The deadline check: at the deadline (09:00 in the schedule's time zone by default), say so when the day's
reports are not published.

An EventBridge Scheduler schedule at the deadline invokes the trigger function with
`{"deadline_check": "<aws.scheduler.scheduled-time>"}` (`orchestrator.runtime.trigger.handler` dispatches here).
The day is the one the morning's run loads (yesterday in the schedule's zone, as for the 07:00 start). A
SUCCEEDED execution of every model whose window holds the day (a run without selection, or a resume of one:
its input's `completes_window`) means it is published, whatever ran after it; nothing is sent. Otherwise the
newest execution whose window holds that day decides:

- RUNNING: "… not published by the deadline: store-sales-D-r1 RUNNING for 2 h 05 min, in state Build item".
- FAILED, TIMED_OUT or ABORTED: the status, when it stopped and its error.
- none: "no execution started", with what has not landed (the landing gate's words) when the landing S3
  folder is known (STORE_SALES_LANDING_S3_URI).

The alert goes to the alert topic (STORE_SALES_ALERT_TOPIC_ARN) as one line, once per invocation (the
schedule fires once a day; Scheduler retries only an invocation that failed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.errors import ConfigurationError, RunnerPayloadError
from orchestrator.landing import gate as landing_gate
from orchestrator.protocol import ExecutionRequest
from orchestrator.runtime import schedule, step_functions
from orchestrator.runtime.step_functions import ExecutionRef, ExecutionStatus
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient

ALERT_TOPIC_ENV = "STORE_SALES_ALERT_TOPIC_ARN"
LAST_STATE_EVENTS = 25


@dataclass(frozen=True)
class DeadlineVerdict:
    day: date
    published: bool
    message: str


def check(
    event: Mapping[str, Any], env: Mapping[str, str], sfn: SFNClient, s3: S3Client | None = None
) -> DeadlineVerdict:
    """What the deadline finds for the day the scheduled time stands for."""
    scheduled_time = event.get(schedule.DEADLINE_KEY)
    if not isinstance(scheduled_time, str):
        raise RunnerPayloadError(
            f"the deadline schedule's input must be {{{schedule.DEADLINE_KEY!r}: '<aws.scheduler.scheduled-time>'}}, "
            f"got {event!r}"
        )
    state_machine_arn = env.get(schedule.STATE_MACHINE_ENV)
    if not state_machine_arn:
        raise ConfigurationError(f"{schedule.STATE_MACHINE_ENV} is not set: the deadline check has nothing to check")
    day = schedule.refresh_date(scheduled_time, env.get(schedule.TIME_ZONE_ENV) or "UTC")
    now = schedule.scheduled_instant(scheduled_time)
    covering = sorted(
        step_functions.covering(step_functions.list_executions(sfn, state_machine_arn), day), key=_started
    )
    published = published_by(sfn, covering)
    if published is not None:
        return DeadlineVerdict(day, True, f"store sales of {day} published by {published.name}")
    late = f"store sales of {day} not published by the deadline ({scheduled_time})"
    newest = covering[-1] if covering else None
    if newest is None:
        return DeadlineVerdict(day, False, f"{late}: no execution started{_landing_news(env, day, s3)}")
    if newest.status is ExecutionStatus.RUNNING:
        running = _duration((now - newest.started).total_seconds())
        state = current_state(sfn, newest)
        return DeadlineVerdict(day, False, f"{late}: {newest.name} RUNNING for {running}, in state {state}")
    description = step_functions.describe(sfn, newest.arn)
    stopped = newest.stopped.astimezone(UTC).strftime("%H:%M UTC") if newest.stopped else "an unknown time"
    error = " ".join(f"{description.get('error') or ''}: {description.get('cause') or ''}".split())[:300]
    return DeadlineVerdict(day, False, f"{late}: {newest.name} {newest.status.value} at {stopped} ({error})")


def _started(ref: ExecutionRef) -> datetime:
    return ref.started


def published_by(sfn: SFNClient, covering: list[ExecutionRef]) -> ExecutionRef | None:
    """The first SUCCEEDED execution among `covering` that built every model of its window (its input says so):
    the day is published, whatever ran after it."""
    return next((ref for ref in covering if _loads_everything(sfn, ref)), None)


def _loads_everything(sfn: SFNClient, ref: ExecutionRef) -> bool:
    if ref.status is not ExecutionStatus.SUCCEEDED:
        return False
    request = ExecutionRequest.from_input(step_functions.describe(sfn, ref.arn).get("input"))
    return request is None or request.completes_window


def _duration(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def current_state(sfn: SFNClient, ref: ExecutionRef) -> str:
    """The last state the execution entered: among the newest events of its history (not all of it), the entry
    with the highest event id (moto's interpreter returns its history oldest first whatever `reverseOrder` asks)."""
    events = sfn.get_execution_history(executionArn=ref.arn, reverseOrder=True, maxResults=LAST_STATE_EVENTS)
    entries = [item for item in events.get("events", ()) if item.get("stateEnteredEventDetails")]
    if not entries:
        return "(none yet)"
    newest = max(entries, key=lambda item: item["id"])
    return str(newest["stateEnteredEventDetails"]["name"])


def _landing_news(env: Mapping[str, str], day: date, s3: S3Client | None) -> str:
    uri = env.get(landing_gate.LANDING_S3_URI_ENV)
    if not uri or s3 is None:
        return ""
    check = landing_gate.inspect_window(landing_gate.S3Landing(uri, s3), RefreshWindow.day(day))
    return f"; not landed: {check.summary()}" if check.problems else "; every extract has landed"


def alert(
    event: Mapping[str, Any], env: Mapping[str, str], sfn: SFNClient, sns: SNSClient, s3: S3Client | None = None
) -> DeadlineVerdict:
    """Check, and publish one line to the alert topic when the day is not published."""
    verdict = check(event, env, sfn, s3)
    if not verdict.published:
        topic = env.get(ALERT_TOPIC_ENV)
        if not topic:
            raise ConfigurationError(f"{ALERT_TOPIC_ENV} is not set: the deadline check cannot alert anyone")
        sns.publish(TopicArn=topic, Subject=f"store sales {verdict.day}: late"[:100], Message=verdict.message)
    return verdict
