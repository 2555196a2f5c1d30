"""Draining a (moto) queue into the worker the way the event source mapping does."""

from __future__ import annotations

from typing import Any

from devstack.runtime import LocalContext
from devstack.sqs_pump import sqs_event
from gbc.queue.sqs import sqs_client


def receive(queue_url: str, max_messages: int = 10) -> list[dict[str, Any]]:
    return (
        sqs_client()
        .receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=max_messages, AttributeNames=["All"], WaitTimeSeconds=0
        )
        .get("Messages", [])
    )


def run_worker(
    messages: list[dict[str, Any]], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:gbc-local-jobs"
) -> dict:
    import worker_app

    return worker_app.lambda_handler(sqs_event(messages, queue_arn), LocalContext("WorkerFunction", 1024, 30))
