"""Start on arrival, through moto: S3 (EventBridge notifications on) → the stack's own EventBridge rule (its
event pattern read from infra/template.yaml) → the trigger → Step Functions. The rule's target here is an
SQS queue, from which the test hands each event to the trigger function's code as Lambda would (moto runs
Lambda targets only in Docker). Three markers → exactly one execution; duplicate events, a late marker and
the 07:00 fallback → still one; data files and keys outside the landing start nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import boto3
import pytest
from infra_support import load_template
from moto import mock_aws

from orchestrator.landing.gate import LANDING_S3_URI_ENV, MARKER_FILE
from orchestrator.runtime import schedule, trigger

REGION = "us-east-1"
BUCKET = "landing-bucket"
DAY = date(2002, 12, 31)
PASS_MACHINE = {"StartAt": "Build", "States": {"Build": {"Type": "Pass", "End": True}}}


@dataclass
class Stack:
    s3: Any
    sfn: Any
    sqs: Any
    queue_url: str
    env: dict[str, str]

    def land(self, extract: str, day: date = DAY, name: str = MARKER_FILE) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=f"store-sales/landing/{extract}/load_date={day}/{name}", Body=b"")

    def events(self) -> list[dict[str, Any]]:
        """What the rule delivered since the last call, in order."""
        delivered = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return delivered
            for message in messages:
                delivered.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def trigger(self, event: dict[str, Any]) -> str:
        return trigger.start_on_arrival(event, self.env, self.sfn, self.s3)

    def executions(self) -> list[str]:
        arn = self.env[schedule.STATE_MACHINE_ENV]
        return sorted(e["name"] for e in self.sfn.list_executions(stateMachineArn=arn)["executions"])


def rule_pattern() -> dict[str, Any]:
    """The stack's LandingArrivalRule pattern, its bucket name (an intrinsic function there) made concrete."""
    pattern: dict[str, Any] = load_template()["Resources"]["LandingArrivalRule"]["Properties"]["EventPattern"]
    rendered: dict[str, Any] = json.loads(json.dumps(pattern))
    rendered["detail"]["bucket"]["name"] = [BUCKET]
    return rendered


@pytest.fixture
def stack() -> Iterator[Stack]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        s3, sfn, sqs, events = (boto3.client(n, region_name=REGION) for n in ("s3", "stepfunctions", "sqs", "events"))
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        queue_url = sqs.create_queue(QueueName="trigger-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="landing-arrival", EventPattern=json.dumps(rule_pattern()), State="ENABLED")
        events.put_targets(Rule="landing-arrival", Targets=[{"Id": "trigger", "Arn": queue_arn}])
        role = "arn:aws:iam::123456789012:role/sfn"
        arn = sfn.create_state_machine(name="pipeline", definition=json.dumps(PASS_MACHINE), roleArn=role)
        env = {
            schedule.STATE_MACHINE_ENV: arn["stateMachineArn"],
            LANDING_S3_URI_ENV: f"s3://{BUCKET}/store-sales",
            schedule.TIME_ZONE_ENV: "UTC",
        }
        yield Stack(s3, sfn, sqs, queue_url, env)


def test_three_markers_start_exactly_one_execution_whatever_comes_after(stack: Stack) -> None:
    said = []
    for extract in ("customer_address", "item"):
        stack.land(extract, name="data_0.parquet")  # data files are not the rule's business
        stack.land(extract)
        said += [stack.trigger(event) for event in stack.events()]
    assert said == [
        "customer_address 2002-12-31 landed; waiting for item, store_sales",
        "item 2002-12-31 landed; waiting for store_sales",
    ]
    assert stack.executions() == []

    stack.land("store_sales")
    (last,) = stack.events()
    assert (
        stack.trigger(last) == "store_sales 2002-12-31 landed, the last of the day: started store-sales-2002-12-31-r1"
    )

    assert stack.trigger(last).endswith("store-sales-2002-12-31-r1 (SUCCEEDED) already covers the day")  # duplicate
    stack.land("item")  # a late rewrite of a marker
    (late,) = stack.events()
    assert "already covers the day" in stack.trigger(late)
    fallback = trigger.start_daily({"scheduled_time": "2003-01-01T07:00:00Z"}, stack.env, stack.sfn)
    assert fallback.name == "store-sales-2002-12-31-r1"
    assert stack.executions() == ["store-sales-2002-12-31-r1"]


def test_the_fallback_alone_starts_the_day_once(stack: Stack) -> None:
    first = trigger.start_daily({"scheduled_time": "2003-01-01T07:00:00Z"}, stack.env, stack.sfn)
    again = trigger.start_daily({"scheduled_time": "2003-01-01T07:00:00Z"}, stack.env, stack.sfn)
    assert first.name == again.name == "store-sales-2002-12-31-r1"
    assert stack.executions() == ["store-sales-2002-12-31-r1"]


def test_markers_outside_the_landing_start_nothing(stack: Stack) -> None:
    stack.s3.put_object(Bucket=BUCKET, Key=f"elsewhere/item/load_date={DAY}/{MARKER_FILE}", Body=b"")
    stack.land("returns")
    said = [stack.trigger(event) for event in stack.events()]
    assert said == [
        f"ignored s3://{BUCKET}/elsewhere/item/load_date={DAY}/_SUCCESS: not an extract's _SUCCESS under "
        f"s3://{BUCKET}/store-sales/landing/",
        f"ignored s3://{BUCKET}/store-sales/landing/returns/load_date={DAY}/_SUCCESS: not an extract's _SUCCESS "
        f"under s3://{BUCKET}/store-sales/landing/",
    ]
    assert stack.executions() == []
