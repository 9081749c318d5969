"""The alert topic read back as its subscribers read it: through an SQS queue subscribed to the topic (moto's SNS
delivers there), for the deadline check's and the at-risk checkpoints' tests."""

from __future__ import annotations

import json
from typing import Any


def subscribed_queue(sns: Any, sqs: Any) -> tuple[str, str]:
    """A new alert topic and a queue subscribed to it: (topic ARN, queue URL)."""
    topic = str(sns.create_topic(Name="alerts")["TopicArn"])
    queue_url = str(sqs.create_queue(QueueName="alerts-reader")["QueueUrl"])
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue_url


def received(sqs: Any, queue_url: str) -> list[str]:
    """The alert lines delivered since the last call (SNS's envelope unwrapped)."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"])["Message"] for message in messages]
