"""The trigger function, `orchestrator.runtime.trigger.handler`: starts the day's execution when its extracts have
landed (S3 events), at 07:00 as a fallback (EventBridge Scheduler), checks whether the day is at risk at the
checkpoints before the deadline (`orchestrator.runtime.checkpoint`), and checks the deadline.

On arrival: S3 sends "Object Created" events for the landing bucket to EventBridge; the stack's rule passes
those whose key ends in `/_SUCCESS` to this function. For the marker's day it checks that the markers of
all three extracts are there (`orchestrator.landing.gate`), and if so starts the day's execution.

Once per day: the arrival start, duplicate or late events and the 07:00 fallback go through `start_once`,
which starts nothing when an execution of that day's window already exists (whatever its status), or when
a RUNNING or SUCCEEDED execution's window holds the day (a catch-up). Two starts at the same instant ask
Step Functions for the same execution name, so the second gets the same execution back. A failed day is
therefore not retried automatically: its alert went out, and `resume` or the next catch-up loads it.

The 07:00 schedule passes `{"scheduled_time": "<aws.scheduler.scheduled-time>"}`; the day is yesterday in the
schedule's time zone (`orchestrator.runtime.schedule`), and the execution of the window [yesterday, yesterday]
starts through `orchestrator.runtime.step_functions.start`: the same execution names, input and overlap guard as
`python -m orchestrator run`. The state machine comes from STORE_SALES_STATE_MACHINE_ARN.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from orchestrator.aws import aws_client
from orchestrator.errors import ConfigurationError, RunnerPayloadError
from orchestrator.landing import gate as landing_gate
from orchestrator.landing.contract import EXTRACTS
from orchestrator.protocol import ExecutionRequest
from orchestrator.runtime import checkpoint, deadline, step_functions
from orchestrator.runtime.schedule import (
    AT_RISK_KEY,
    DEADLINE_KEY,
    SCHEDULED_TIME_KEY,
    STATE_MACHINE_ENV,
    TIME_ZONE_ENV,
    refresh_date,
)
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient


def start_daily(event: Mapping[str, Any], env: Mapping[str, str], sfn: SFNClient) -> step_functions.ExecutionRef:
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
    return start_once(sfn, state_machine_arn, day).ref


@dataclass(frozen=True)
class Start:
    """What a trigger did for a day: `started` is False when an execution already covered it."""

    ref: step_functions.ExecutionRef
    started: bool


def start_once(sfn: SFNClient, state_machine_arn: str, day: date) -> Start:
    """Start the execution of [day, day] unless one exists already (see the module docstring)."""
    window = RefreshWindow.day(day)
    live = {step_functions.ExecutionStatus.RUNNING, step_functions.ExecutionStatus.SUCCEEDED}
    for ref in step_functions.list_executions(sfn, state_machine_arn):
        if ref.window == window or (ref.window is not None and ref.window.overlaps(window) and ref.status in live):
            return Start(ref, started=False)
    return Start(step_functions.start(sfn, state_machine_arn, ExecutionRequest(window=window)), started=True)


def start_on_arrival(event: Mapping[str, Any], env: Mapping[str, str], sfn: SFNClient, s3: S3Client) -> str:
    """An S3 "Object Created" event of a `_SUCCESS` marker: start its day once all extracts have landed.
    Returns the line the function logs."""
    detail = event.get("detail") or {}
    bucket = str((detail.get("bucket") or {}).get("name") or "")
    key = str((detail.get("object") or {}).get("key") or "")
    state_machine_arn = env.get(STATE_MACHINE_ENV)
    uri = env.get(landing_gate.LANDING_S3_URI_ENV)
    if not state_machine_arn or not uri:
        raise ConfigurationError(
            f"{STATE_MACHINE_ENV} and {landing_gate.LANDING_S3_URI_ENV} must be set: the trigger cannot start anything"
        )
    store = landing_gate.S3Landing(uri, s3)
    landed = store.marker_of(bucket, key)
    if landed is None:
        return f"ignored s3://{bucket}/{key}: not an extract's {landing_gate.MARKER_FILE} under {uri}/landing/"
    extract, day = landed
    window = RefreshWindow.day(day)
    missing = [e for e in EXTRACTS if store.deliveries(e, window)[0].marker is None]
    if missing:
        return f"{extract} {day} landed; waiting for {', '.join(missing)}"
    start = start_once(sfn, state_machine_arn, day)
    if not start.started:
        return f"{extract} {day} landed; {start.ref.name} ({start.ref.status.value}) already covers the day"
    return f"{extract} {day} landed, the last of the day: started {start.ref.name}"


def handler(event: Mapping[str, Any], context: Any) -> dict[str, str]:
    """Lambda entrypoint of the arrival events, the 07:00 fallback, the at-risk checkpoints
    (`orchestrator.runtime.checkpoint`) and the deadline check (`orchestrator.runtime.deadline`); a failure goes to
    the function's dead-letter topic (the alert topic)."""
    if event.get("source") == "aws.s3":
        line = start_on_arrival(event, os.environ, aws_client("stepfunctions"), aws_client("s3"))
        print(line)
        return {"result": line}
    if AT_RISK_KEY in event:
        sfn, sns, s3 = aws_client("stepfunctions"), aws_client("sns"), aws_client("s3")
        at_risk = checkpoint.alert(event, os.environ, sfn, sns, s3)
        print(at_risk.message)
        return {"day": at_risk.day.isoformat(), "at_risk": str(at_risk.at_risk).lower()}
    if DEADLINE_KEY in event:
        verdict = deadline.alert(event, os.environ, aws_client("stepfunctions"), aws_client("sns"), aws_client("s3"))
        print(verdict.message)
        return {"day": verdict.day.isoformat(), "published": str(verdict.published).lower()}
    ref = start_daily(event, os.environ, aws_client("stepfunctions"))
    print(f"the day's execution: {ref.name}, {ref.status.value} ({ref.arn})")  # started now, or earlier
    return {"execution_arn": ref.arn, "name": ref.name}
