"""get_queue_stats(): the seed's queue statistics, from SQS attributes and the Redis totals."""

from __future__ import annotations

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
    try:
        for url in filter(None, (settings.jobs_queue_url, settings.priority_queue_url)):
            counts = _counts(url)
            stats["waiting"] += counts["ApproximateNumberOfMessages"]
            stats["active"] += counts["ApproximateNumberOfMessagesNotVisible"]
            stats["delayed"] += counts["ApproximateNumberOfMessagesDelayed"]
        for url in filter(None, (settings.jobs_dlq_url, settings.priority_dlq_url)):
            stats["dlq"] += _counts(url)["ApproximateNumberOfMessages"]
    except Exception as exc:
        logger.warning("[Queue] stats unavailable", extra={"error": repr(exc)})
        stats["available"] = False
    try:
        stats.update(retention.totals())
    except Exception:
        stats.update(completed=None, failed=None)
    return stats
