"""Running one job, as the worker Lambda (or the direct-processing fallback) does: the handler, its
timing, the seed's log line, the retention summaries and the metrics."""

from __future__ import annotations

import time

from aws_lambda_powertools.metrics import MetricUnit

from gbc.observability import logger, metrics
from gbc.queue import retention
from gbc.queue.handlers import process_job
from gbc.queue.jobs import Job


def run_job(job: Job, attempt: int = 1) -> bool:
    """Process a job; returns False when it had already been processed. Raises what the handler raised."""
    start = time.perf_counter()
    try:
        applied = process_job(job)
    except Exception as exc:
        retention.record_failed(str(job.id), job.type, exc, attempt)
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
        raise
    elapsed_ms = (time.perf_counter() - start) * 1000
    retention.record_completed(job, elapsed_ms, duplicate=not applied)
    metrics.add_metric(name="JobsProcessed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="JobDuration", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    suffix = "" if applied else " (already processed: no effect)"
    logger.info(
        f"[Queue] Job {job.id} completed in {elapsed_ms:.0f}ms{suffix}",
        extra={"job_id": str(job.id), "job_type": job.type, "attempt": attempt},
    )
    return applied
