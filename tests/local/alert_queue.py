"""The alert topic as an on-call integration sees it: an SQS queue subscribed to it, read until empty."""

from __future__ import annotations

import json

from orchestrator.local.emulator import LocalAws


def subscribe_queue(aws: LocalAws) -> str:
    """An SQS queue subscribed to the alert topic, as an on-call integration would be; returns its URL."""
    sqs = aws.client("sqs")
    url: str = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("sns").subscribe(TopicArn=aws.topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return url


def alerts(aws: LocalAws, url: str) -> list[dict[str, str]]:
    """Every alert delivered to the queue (SNS envelopes), read until the queue stays empty."""
    sqs = aws.client("sqs")
    received: list[dict[str, str]] = []
    for _ in range(10):  # bounded: the last read waits 1 s and finds nothing
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            break
        received.extend(json.loads(message["Body"]) for message in messages)
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return received
