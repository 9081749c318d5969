"""The at-risk checkpoints against moto's Step Functions (executing), SNS and S3: the alert read back through an SQS
queue subscribed to the alert topic, once per day, and none for a day on track or published. Invoked the way the
at-risk schedule invokes it: `orchestrator.runtime.trigger.handler`'s input
`{"at_risk_check": "<scheduled time>", "deadline": "H:M"}`.

The checkpoints are taken at the wall clock's time (the executions moto runs start now), in a time zone where it is
about noon, so that a deadline an hour later never crosses midnight.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from alerts_support import received, start_and_settle, subscribed_queue
from moto import mock_aws

from orchestrator.errors import RunnerPayloadError
from orchestrator.landing.contract import EXTRACTS
from orchestrator.landing.gate import MARKER_FILE
from orchestrator.protocol import ExecutionRequest
from orchestrator.runtime import checkpoint, deadline, schedule, trigger
from orchestrator.runtime.step_functions import ExecutionStatus
from orchestrator.window import RefreshWindow

REGION = "us-east-1"
LANDING = "landing"
ALERTS = "artifacts"
# a one-day window runs its Pass state at once; one with whole-table tests waits an hour (a slow run)
DEFINITION = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.full_tests", "BooleanEquals": True, "Next": "Build item"}],
            "Default": "Done",
        },
        "Build item": {"Type": "Wait", "Seconds": 3600, "End": True},
        "Done": {"Type": "Pass", "End": True},
    },
}


def noon_zone(instant: datetime) -> str:
    """A fixed-offset zone in which `instant` falls in the noon hour."""
    offset = 12 - instant.astimezone(UTC).hour  # Etc/GMT-5 is UTC+5
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


@dataclass
class Aws:
    sfn: Any
    sns: Any
    sqs: Any
    s3: Any
    queue_url: str
    env: dict[str, str]
    arn: str
    zone: str

    @property
    def day(self) -> date:
        return datetime.now(ZoneInfo(self.zone)).date() - timedelta(days=1)

    def alerts(self) -> list[str]:
        return received(self.sqs, self.queue_url)

    def land(self, *extracts: str) -> None:
        for extract in extracts:
            key = f"store-sales/landing/{extract}/load_date={self.day}/{MARKER_FILE}"
            self.s3.put_object(Bucket=LANDING, Key=key, Body=b"")

    def checkpoint(self, at: datetime, minutes_to_deadline: int) -> dict[str, str]:
        """Invoke the trigger as the at-risk schedule does, at `at`, with the deadline that many minutes later."""
        due = (at + timedelta(minutes=minutes_to_deadline)).astimezone(ZoneInfo(self.zone))
        event = {
            schedule.AT_RISK_KEY: at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "deadline": f"{due.hour}:{due.minute}",  # as CloudFormation writes the stack's numbers: 9:0
        }
        return checkpoint_handler(event, self.env, self)

    def start(self, window: RefreshWindow, settled: ExecutionStatus, full_tests: bool = False) -> str:
        return start_and_settle(self.sfn, self.arn, ExecutionRequest(window, full_tests=full_tests), settled)


def checkpoint_handler(event: dict[str, Any], env: dict[str, str], aws: Aws) -> dict[str, str]:
    """`trigger.handler` with this test's environment (the handler reads the process's, as on Lambda)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return trigger.handler(event, None)


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn, sns, sqs, s3 = (boto3.client(name, region_name=REGION) for name in ("stepfunctions", "sns", "sqs", "s3"))
        topic, queue_url = subscribed_queue(sns, sqs)
        s3.create_bucket(Bucket=LANDING)
        s3.create_bucket(Bucket=ALERTS)
        role = "arn:aws:iam::123456789012:role/sfn"
        arn = sfn.create_state_machine(name="pipeline", definition=json.dumps(DEFINITION), roleArn=role)[
            "stateMachineArn"
        ]
        zone = noon_zone(datetime.now(UTC))
        env = {
            deadline.ALERT_TOPIC_ENV: topic,
            checkpoint.ALERTS_URI_ENV: f"s3://{ALERTS}/alerts",
            schedule.TIME_ZONE_ENV: zone,
            schedule.STATE_MACHINE_ENV: arn,
            "STORE_SALES_LANDING_S3_URI": f"s3://{LANDING}/store-sales",
            "AWS_DEFAULT_REGION": REGION,
        }
        yield Aws(sfn, sns, sqs, s3, queue_url, env, arn, zone)


def test_a_missing_extract_an_hour_before_the_deadline_alerts_once_that_day(aws: Aws) -> None:
    aws.land("customer_address", "store_sales")
    now = datetime.now(UTC).replace(microsecond=0)

    earlier = aws.checkpoint(now, minutes_to_deadline=150)  # 06:30 for a 09:00 deadline: only waiting
    assert earlier == {"day": aws.day.isoformat(), "at_risk": "false"}
    assert aws.alerts() == []

    assert aws.checkpoint(now, minutes_to_deadline=60)["at_risk"] == "true"  # 08:00
    (message,) = aws.alerts()
    assert message.startswith(f"store sales of {aws.day} at ")
    assert "at risk: item has not landed; a run's duration is unknown" in message
    record = aws.s3.get_object(Bucket=ALERTS, Key=f"alerts/at-risk/{aws.day}")["Body"].read().decode()
    assert record == message

    assert aws.checkpoint(now + timedelta(minutes=30), minutes_to_deadline=30)["at_risk"] == "true"  # 08:30
    assert aws.alerts() == []  # alerted once that day


def test_a_day_on_track_or_published_sends_nothing(aws: Aws) -> None:
    aws.start(RefreshWindow.day(aws.day - timedelta(days=1)), ExecutionStatus.SUCCEEDED)  # a daily run's length
    aws.land(*EXTRACTS)

    assert aws.checkpoint(datetime.now(UTC), minutes_to_deadline=60)["at_risk"] == "false"
    verdict = checkpoint.check(
        {schedule.AT_RISK_KEY: datetime.now(UTC).isoformat(), "deadline": "23:59"}, aws.env, aws.sfn, aws.s3
    )
    assert verdict.forecast is not None and verdict.forecast.line().startswith("on track: ETA ")

    name = aws.start(RefreshWindow.day(aws.day), ExecutionStatus.SUCCEEDED)
    assert aws.checkpoint(datetime.now(UTC), minutes_to_deadline=1)["at_risk"] == "false"
    assert aws.alerts() == []
    published = checkpoint.check(
        {schedule.AT_RISK_KEY: datetime.now(UTC).isoformat(), "deadline": "23:59"}, aws.env, aws.sfn, aws.s3
    )
    assert published.message == f"store sales of {aws.day} published by {name}"


def test_a_run_slower_than_usual_alerts_naming_its_state(aws: Aws) -> None:
    aws.start(RefreshWindow.day(aws.day - timedelta(days=1)), ExecutionStatus.SUCCEEDED)
    aws.land(*EXTRACTS)
    name = aws.start(RefreshWindow.day(aws.day), ExecutionStatus.RUNNING, full_tests=True)
    time.sleep(1.2)  # longer than the Pass run took: an overrun

    assert aws.checkpoint(datetime.now(UTC), minutes_to_deadline=60)["at_risk"] == "true"

    (message,) = aws.alerts()
    assert f"at risk: {name} running since " in message
    assert "longer than a run takes" in message
    assert message.endswith(f"; {name} is in state Build item")


def test_a_failed_publish_takes_the_record_back_so_the_next_checkpoint_alerts(aws: Aws) -> None:
    aws.land("customer_address", "store_sales")
    now = datetime.now(UTC).replace(microsecond=0)
    topic = aws.env[deadline.ALERT_TOPIC_ENV]
    aws.env[deadline.ALERT_TOPIC_ENV] = topic.replace(":alerts", ":no-such-topic")

    with pytest.raises(Exception, match="NotFound"):
        aws.checkpoint(now, minutes_to_deadline=45)
    assert "Contents" not in aws.s3.list_objects_v2(Bucket=ALERTS)

    aws.env[deadline.ALERT_TOPIC_ENV] = topic
    assert aws.checkpoint(now + timedelta(minutes=30), minutes_to_deadline=15)["at_risk"] == "true"  # the next one
    assert len(aws.alerts()) == 1


def test_a_malformed_input_is_refused() -> None:
    with pytest.raises(RunnerPayloadError, match="'deadline': 'H:M'"):
        checkpoint.check({schedule.AT_RISK_KEY: "2003-01-02T08:00:00Z", "deadline": 9}, {}, None, None)
    with pytest.raises(RunnerPayloadError, match="not a time of day"):
        checkpoint.check({schedule.AT_RISK_KEY: "2003-01-02T08:00:00Z", "deadline": "25:00"}, {}, None, None)
