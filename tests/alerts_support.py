"""For the deadline check's and the at-risk checkpoints' tests: the alert topic read back as its subscribers read
it, through an SQS queue subscribed to the topic (moto's SNS delivers there), and executions started on moto's
interpreter until they settle."""

from __future__ import annotations

import json
import time
from typing import Any

from orchestrator.protocol import ExecutionRequest
from orchestrator.runtime import step_functions
from orchestrator.runtime.step_functions import ExecutionStatus


def subscribed_queue(sns: Any, sqs: Any) -> tuple[str, str]:
    """A new alert topic and a queue subscribed to it: (topic ARN, queue URL)."""
    topic = str(sns.create_topic(Name="alerts")["TopicArn"])
    queue_url = str(sqs.create_queue(QueueName="alerts-reader")["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue_url


def start_and_settle(sfn: Any, arn: str, request: ExecutionRequest, settled: ExecutionStatus) -> str:
    """Start an execution of `request` on moto's interpreter and wait (bounded) until it is `settled`; its name."""
    ref = step_functions.start(sfn, arn, request)
    for _ in range(100):
        if sfn.describe_execution(executionArn=ref.arn)["status"] == settled.value:
            return ref.name
        time.sleep(0.05)
    raise AssertionError(f"{ref.name} never became {settled}")


def received(sqs: Any, queue_url: str) -> list[str]:
    """The alert lines delivered since the last call (SNS's envelope unwrapped)."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"])["Message"] for message in messages]
