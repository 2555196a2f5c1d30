"""Job summaries kept in Redis like BullMQ's retention: the last 100 completed and the last 1000
failed (capped lists), plus running totals. Redis trouble never fails a job: summaries are best effort."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from gbc.cache.client import redis_client
from gbc.observability import logger
from gbc.queue.jobs import Job

COMPLETED_KEY = "jobs:completed"
FAILED_KEY = "jobs:failed"
KEEP_COMPLETED = 100
KEEP_FAILED = 1000


def _record(key: str, keep: int, summary: dict[str, Any]) -> None:
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.lpush(key, json.dumps(summary))
        pipe.ltrim(key, 0, keep - 1)
        pipe.incr(f"{key}:total")
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("[Queue] could not record a job summary", extra={"error": repr(exc)})


def record_completed(job: Job, duration_ms: float, duplicate: bool) -> None:
    summary = {"id": str(job.id), "type": job.type, "ms": round(duration_ms, 1), "at": time.time()}
    if duplicate:
        summary["duplicate"] = True
    _record(COMPLETED_KEY, KEEP_COMPLETED, summary)


def record_failed(job_id: str | None, job_type: str | None, error: BaseException, attempt: int) -> None:
    summary = {"id": job_id, "type": job_type, "error": f"{type(error).__name__}: {error}"[:500], "attempt": attempt}
    _record(FAILED_KEY, KEEP_FAILED, {**summary, "at": time.time()})


def recent(key: str, count: int = 20) -> list[dict[str, Any]]:
    return [json.loads(item) for item in redis_client().lrange(key, 0, count - 1)]


def totals() -> dict[str, int]:
    completed, failed = redis_client().mget(f"{COMPLETED_KEY}:total", f"{FAILED_KEY}:total")
    return {"completed": int(completed or 0), "failed": int(failed or 0)}
