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
        # Fail fast: a stuck send must not hold a request; the outbox keeps the job.
        config=Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"}),
    )


def queue_url(name: QueueName, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    url = settings.priority_queue_url if name == "priority" else settings.jobs_queue_url
    if not url:
        raise RuntimeError(f"queue URL for {name!r} is not configured")
    return url
