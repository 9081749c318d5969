"""The at-risk checkpoints: before the deadline, while there is still time to act, say when the day is at risk.

EventBridge Scheduler invokes the trigger function at each checkpoint (default 08:00 and 08:30 in the
schedule's time zone, the stack's AtRiskCheckHour and AtRiskCheckMinutes) with
`{"at_risk_check": "<aws.scheduler.scheduled-time>", "deadline": "9:0"}` (the stack's DeadlineHour:DeadlineMinute)
(`orchestrator.runtime.trigger.handler` dispatches here). The day is the one the morning's run loads, as for
the 07:00 start and the deadline check, and the judgement is the forecast `status` shows
(`orchestrator.runtime.eta`): from the landing markers, the day's executions and how long the last daily runs
took. A published day, or one on track, sends nothing.

An at-risk day is alerted once: the first checkpoint that finds it at risk records the day in the alerts
folder (STORE_SALES_ALERTS_URI, `<folder>/at-risk/<day>`) with an S3 conditional write that fails when the
record already exists, then publishes one line to the alert topic; a later checkpoint, a retry of the
invocation or a second invocation at the same instant finds the record and stays silent. When publishing
fails, the record is taken back and the failure goes to the function's dead-letter topic: the next checkpoint
alerts (the trigger's asynchronous invocations are not retried, `TriggerInvokeConfig`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator import settings
from orchestrator.errors import ConfigurationError, RunnerPayloadError
from orchestrator.landing import gate as landing_gate
from orchestrator.runtime import deadline, eta, schedule, step_functions
from orchestrator.runtime.step_functions import ExecutionStatus
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient

ALERTS_URI_ENV = settings.ALERTS_URI.name
RECORD_FOLDER = "at-risk"


@dataclass(frozen=True)
class CheckpointVerdict:
    """What a checkpoint finds: the day, its forecast (None once published), and the line an alert carries."""

    day: date
    forecast: eta.Forecast | None
    message: str

    @property
    def at_risk(self) -> bool:
        return self.forecast is not None and self.forecast.at_risk


def check(event: Mapping[str, Any], env: Mapping[str, str], sfn: SFNClient, s3: S3Client) -> CheckpointVerdict:
    """The forecast for the day the scheduled time stands for, at that time."""
    scheduled_time, due = _read(event)
    state_machine_arn = env.get(schedule.STATE_MACHINE_ENV)
    if not state_machine_arn:
        raise ConfigurationError(f"{schedule.STATE_MACHINE_ENV} is not set: the at-risk check has nothing to check")
    landing_uri = env.get(landing_gate.LANDING_S3_URI_ENV)
    if not landing_uri:
        raise ConfigurationError(
            f"{landing_gate.LANDING_S3_URI_ENV} is not set: the at-risk check cannot tell what has landed"
        )
    time_zone = env.get(schedule.TIME_ZONE_ENV) or "UTC"
    day = schedule.refresh_date(scheduled_time, time_zone)
    now = schedule.scheduled_instant(scheduled_time)
    due_at = schedule.deadline_instant(day, due, time_zone)
    executions = list(step_functions.list_executions(sfn, state_machine_arn))
    covering = sorted(step_functions.covering(executions, day), key=lambda ref: ref.started)
    published = deadline.published_by(sfn, covering)
    if published is not None:
        return CheckpointVerdict(day, None, f"store sales of {day} published by {published.name}")
    arrivals = landing_gate.arrivals(landing_gate.S3Landing(landing_uri, s3), RefreshWindow.day(day))[day]
    running = next((ref for ref in reversed(covering) if ref.status is ExecutionStatus.RUNNING), None)
    # as status judges it: the newest attempt, when nothing runs, did not publish the day (failed, or ran selected
    # models only)
    newest = covering[-1] if covering else None
    failed = newest if newest is not None and running is None else None
    forecast = eta.forecast(due_at, now, arrivals, running, failed, eta.run_seconds(executions))
    where = f"; {running.name} is in state {deadline.current_state(sfn, running)}" if running is not None else ""
    checked = now.astimezone(due_at.tzinfo).strftime("%H:%M")
    return CheckpointVerdict(day, forecast, f"store sales of {day} at {checked}: {forecast.line()}{where}")


def alert(
    event: Mapping[str, Any], env: Mapping[str, str], sfn: SFNClient, sns: SNSClient, s3: S3Client
) -> CheckpointVerdict:
    """Check, and publish one line to the alert topic the first time the day is found at risk."""
    verdict = check(event, env, sfn, s3)
    if not verdict.at_risk:
        return verdict
    topic = env.get(deadline.ALERT_TOPIC_ENV)
    if not topic:
        raise ConfigurationError(f"{deadline.ALERT_TOPIC_ENV} is not set: the at-risk check cannot alert anyone")
    bucket, key = _record_key(env, verdict.day)
    if not _record_first(s3, bucket, key, verdict.message):
        return CheckpointVerdict(verdict.day, verdict.forecast, f"{verdict.message} (already alerted today)")
    try:
        sns.publish(TopicArn=topic, Subject=f"store sales {verdict.day}: at risk"[:100], Message=verdict.message)
    except (BotoCoreError, ClientError):
        s3.delete_object(Bucket=bucket, Key=key)  # not alerted after all: the next checkpoint must alert
        raise
    return verdict


def _read(event: Mapping[str, Any]) -> tuple[str, time]:
    """The scheduled time and the deadline, `H:M` as the template writes the stack's numbers (`9:0`, `09:00`)."""
    scheduled_time, deadline_text = event.get(schedule.AT_RISK_KEY), event.get("deadline")
    hour, _, minute = deadline_text.partition(":") if isinstance(deadline_text, str) else ("", "", "")
    if not isinstance(scheduled_time, str) or not (hour.isdigit() and minute.isdigit()):
        raise RunnerPayloadError(
            f"the at-risk schedule's input must be {{{schedule.AT_RISK_KEY!r}: '<aws.scheduler.scheduled-time>', "
            f"'deadline': 'H:M'}}, got {event!r}"
        )
    try:
        return scheduled_time, time(int(hour), int(minute))
    except ValueError:
        raise RunnerPayloadError(f"the at-risk schedule's deadline {deadline_text!r} is not a time of day") from None


def _record_key(env: Mapping[str, str], day: date) -> tuple[str, str]:
    uri = env.get(ALERTS_URI_ENV)
    if not uri or not uri.startswith("s3://"):
        raise ConfigurationError(
            f"{ALERTS_URI_ENV} is {uri!r}: the at-risk check needs an S3 folder (s3://bucket/prefix) to alert once "
            "a day"
        )
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, "/".join(part for part in (prefix.strip("/"), RECORD_FOLDER, day.isoformat()) if part)


def _record_first(s3: S3Client, bucket: str, key: str, message: str) -> bool:
    """Record the alert unless a record of the day exists (S3's conditional write): True when this call is first."""
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=message.encode(), IfNoneMatch="*")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"PreconditionFailed", "ConditionalRequestConflict"}:
            return False
        raise
    return True
