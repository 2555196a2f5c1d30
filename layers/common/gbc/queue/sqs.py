"""The container's SQS client and queue URLs (local endpoint from SQS_ENDPOINT_URL)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from gbc.queue.jobs import QueueName
from gbc.settings import Settings, get_settings


@lru_cache(maxsize=1)
def sqs_client() -> Any:
    settings = get_settings()
    return boto3.client(
        "sqs",
        region_name=settings.aws_region,
        endpoint_url=settings.sqs_endpoint_url,
        # Fail fast: a stuck send must not hold a request; the outbox keeps the job, and when SQS is
        # unreachable the job is processed directly.
        config=Config(connect_timeout=0.5, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"}),
    )


@lru_cache(maxsize=16)
def queue_url_for_arn(arn: str) -> str:
    """The URL of a queue named by an event's eventSourceARN (arn:aws:sqs:region:account:name)."""
    name = arn.rsplit(":", 1)[-1]
    settings = get_settings()
    for url in (settings.jobs_queue_url, settings.priority_queue_url, settings.jobs_dlq_url, settings.priority_dlq_url):
        if url and url.rstrip("/").rsplit("/", 1)[-1] == name:
            return url
    return str(sqs_client().get_queue_url(QueueName=name)["QueueUrl"])


def queue_url(name: QueueName, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    url = settings.priority_queue_url if name == "priority" else settings.jobs_queue_url
    if not url:
        raise RuntimeError(f"queue URL for {name!r} is not configured")
    return url
