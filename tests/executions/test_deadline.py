"""The deadline check against moto's Step Functions (executing), SNS and S3: one alert for a running, a
failed and a never-started day, read back through an SQS queue subscribed to the alert topic, and none
for a published day. Invoked the way the deadline schedule invokes it: `orchestrator.runtime.trigger.handler`'s
input `{"deadline_check": "<scheduled time>"}`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from alerts_support import received, subscribed_queue
from alerts_support import start_and_settle as settle
from moto import mock_aws

from orchestrator.errors import RunnerPayloadError
from orchestrator.landing.gate import MARKER_FILE
from orchestrator.protocol import ExecutionRequest
from orchestrator.runtime import deadline, schedule
from orchestrator.runtime.step_functions import ExecutionStatus
from orchestrator.window import RefreshWindow

REGION = "us-east-1"
BUCKET = "landing"
# the deadline fires 2 h 05 min after the test starts its execution, so "how long" is known to the minute
LATE_BY = timedelta(hours=2, minutes=5, seconds=30)
DEFINITIONS = {
    "published": {"StartAt": "Build item", "States": {"Build item": {"Type": "Pass", "End": True}}},
    "running": {"StartAt": "Build item", "States": {"Build item": {"Type": "Wait", "Seconds": 3600, "End": True}}},
    # succeeds, or fails when its input asks for whole-table tests: a published day and a failed rerun of it
    "rerun-fails": {
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.full_tests", "BooleanEquals": True, "Next": "Pipeline failed"}],
                "Default": "Build item",
            },
            "Build item": {"Type": "Pass", "End": True},
            "Pipeline failed": {"Type": "Fail", "Error": "DbtTestFailed", "Cause": "item: a test failed"},
        },
    },
    "failed": {
        "StartAt": "Pipeline failed",
        "States": {
            "Pipeline failed": {"Type": "Fail", "Error": "LandingIncomplete", "Cause": "store_sales: not delivered"}
        },
    },
}


@dataclass
class Aws:
    sfn: Any
    sns: Any
    sqs: Any
    s3: Any
    queue_url: str
    env: dict[str, str]
    deadline: datetime

    @property
    def day(self) -> date:
        return self.deadline.date() - timedelta(days=1)

    def alerts(self) -> list[str]:
        return received(self.sqs, self.queue_url)


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn, sns, sqs, s3 = (boto3.client(name, region_name=REGION) for name in ("stepfunctions", "sns", "sqs", "s3"))
        topic, queue_url = subscribed_queue(sns, sqs)
        s3.create_bucket(Bucket=BUCKET)
        env = {
            deadline.ALERT_TOPIC_ENV: topic,
            schedule.TIME_ZONE_ENV: "UTC",
            "STORE_SALES_LANDING_S3_URI": f"s3://{BUCKET}/store-sales",
        }
        yield Aws(sfn, sns, sqs, s3, queue_url, env, datetime.now(UTC).replace(microsecond=0) + LATE_BY)


def machine(aws: Aws, kind: str) -> str:
    role = "arn:aws:iam::123456789012:role/sfn"
    arn = str(
        aws.sfn.create_state_machine(name=kind, definition=json.dumps(DEFINITIONS[kind]), roleArn=role)[
            "stateMachineArn"
        ]
    )
    aws.env[schedule.STATE_MACHINE_ENV] = arn
    return arn


def check(aws: Aws) -> deadline.DeadlineVerdict:
    return deadline.alert({schedule.DEADLINE_KEY: aws.deadline.isoformat()}, aws.env, aws.sfn, aws.sns, aws.s3)


def start_and_settle(
    aws: Aws, arn: str, window: RefreshWindow, settled: ExecutionStatus, request: ExecutionRequest | None = None
) -> str:
    return settle(aws.sfn, arn, request or ExecutionRequest(window), settled)


def test_a_published_day_stays_silent_even_inside_a_catch_up_window(aws: Aws) -> None:
    arn = machine(aws, "published")
    name = start_and_settle(aws, arn, RefreshWindow(aws.day - timedelta(days=1), aws.day), ExecutionStatus.SUCCEEDED)

    verdict = check(aws)

    assert verdict.published and verdict.message == f"store sales of {aws.day} published by {name}"
    assert aws.alerts() == []


def test_a_failed_rerun_does_not_unpublish_a_day_and_a_run_of_selected_models_does_not_publish_it(aws: Aws) -> None:
    arn = machine(aws, "rerun-fails")
    day = RefreshWindow.day(aws.day)
    start_and_settle(aws, arn, day, ExecutionStatus.SUCCEEDED, ExecutionRequest(day, nodes=("dim_item",)))
    assert not check(aws).published  # selected models only: not a load of the day
    aws.alerts()

    name = start_and_settle(aws, arn, day, ExecutionStatus.SUCCEEDED)
    start_and_settle(aws, arn, day, ExecutionStatus.FAILED, ExecutionRequest(day, full_tests=True))

    verdict = check(aws)

    assert verdict.published and verdict.message == f"store sales of {aws.day} published by {name}"
    assert aws.alerts() == []


def test_a_running_day_alerts_with_how_long_and_where(aws: Aws) -> None:
    arn = machine(aws, "running")
    name = start_and_settle(aws, arn, RefreshWindow.day(aws.day), ExecutionStatus.RUNNING)
    time.sleep(0.2)  # the interpreter enters the Wait state
    started = aws.sfn.describe_execution(executionArn=f"{arn.replace(':stateMachine:', ':execution:')}:{name}")
    aws.deadline = started["startDate"].astimezone(UTC).replace(microsecond=0) + LATE_BY

    check(aws)

    assert aws.alerts() == [
        f"store sales of {aws.day} not published by the deadline ({aws.deadline.isoformat()}): {name} RUNNING for "
        "2 h 05 min, in state Build item"
    ]


def test_a_failed_day_alerts_with_its_error(aws: Aws) -> None:
    arn = machine(aws, "failed")
    name = start_and_settle(aws, arn, RefreshWindow.day(aws.day), ExecutionStatus.FAILED)

    check(aws)

    (message,) = aws.alerts()
    assert message.startswith(
        f"store sales of {aws.day} not published by the deadline ({aws.deadline.isoformat()}): {name}"
    )
    assert message.endswith("(LandingIncomplete: store_sales: not delivered)")
    assert " FAILED at " in message


def test_a_day_never_started_alerts_naming_what_has_not_landed(aws: Aws) -> None:
    machine(aws, "published")
    for extract in ("customer_address", "item"):
        aws.s3.put_object(
            Bucket=BUCKET, Key=f"store-sales/landing/{extract}/load_date={aws.day}/{MARKER_FILE}", Body=b""
        )

    check(aws)

    assert aws.alerts() == [
        f"store sales of {aws.day} not published by the deadline ({aws.deadline.isoformat()}): no execution started; "
        f"not landed: store_sales {aws.day}: not delivered (no _SUCCESS marker, no file)"
    ]


def test_a_malformed_input_is_refused() -> None:
    with pytest.raises(RunnerPayloadError, match="deadline_check"):
        deadline.check({schedule.DEADLINE_KEY: 9}, {}, sfn=None)
