"""get_queue_stats(): the seed's queue statistics, from SQS attributes and the Redis totals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gbc.observability import logger
from gbc.queue import retention
from gbc.queue.sqs import sqs_client
from gbc.settings import get_settings

_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


def _counts(url: str) -> dict[str, int]:
    attributes = sqs_client().get_queue_attributes(QueueUrl=url, AttributeNames=_ATTRIBUTES)["Attributes"]
    return {name: int(attributes.get(name, 0)) for name in _ATTRIBUTES}


def get_queue_stats() -> dict[str, Any]:
    """{available, waiting, active, delayed, completed, failed, dlq}, summed over both queues.
    `available` is False when SQS cannot be reached (jobs are then processed directly)."""
    settings = get_settings()
    stats: dict[str, Any] = {"available": True, "waiting": 0, "active": 0, "delayed": 0, "dlq": 0}
    queues = [url for url in (settings.jobs_queue_url, settings.priority_queue_url) if url]
    dlqs = [url for url in (settings.jobs_dlq_url, settings.priority_dlq_url) if url]
    try:
        sqs_client()  # built once, here: creating a boto3 client is not thread-safe, using one is
        # One round trip's wait instead of four: the queues are asked at the same time.
        with ThreadPoolExecutor(max_workers=max(1, len(queues) + len(dlqs))) as pool:
            counts = list(pool.map(_counts, queues + dlqs))
        for queue_counts in counts[: len(queues)]:
            stats["waiting"] += queue_counts["ApproximateNumberOfMessages"]
            stats["active"] += queue_counts["ApproximateNumberOfMessagesNotVisible"]
            stats["delayed"] += queue_counts["ApproximateNumberOfMessagesDelayed"]
        stats["dlq"] = sum(dlq_counts["ApproximateNumberOfMessages"] for dlq_counts in counts[len(queues) :])
    except Exception as exc:
        logger.warning("[Queue] stats unavailable", extra={"error": repr(exc)})
        stats["available"] = False
    try:
        stats.update(retention.totals())
    except Exception:
        stats.update(completed=None, failed=None)
    return stats
