"""Running one job, as the worker Lambda (or the direct-processing fallback) does: its handler in
one transaction with its processed_jobs row, its timing, the seed's log line, the retention
summaries and the metrics.

A database outage is not a bug in the job: it fails the record like any error (the worker sets its
visibility from the backoff, and the redrive budget outlasts a 60 s outage; the failure is one
warning line, no stack), and is counted in `JobsDatabaseUnavailable`.
"""

from __future__ import annotations

import time
from typing import Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert

import gbc.jobs.handlers  # noqa: F401 - registers every handler
from gbc.data.models import OutboxJob, ProcessedJob
from gbc.data.outage import is_transient_database_error
from gbc.data.transaction import unit_of_work
from gbc.jobs.registry import spec_for
from gbc.observability import logger, metrics
from gbc.queue import retention
from gbc.queue.jobs import Job

# The API's 503 and the worker's "expected during an outage" are the same judgement.
is_database_outage = is_transient_database_error


def process_job(job: Job) -> bool:
    """Run the job's handler once. Returns False when the job had already been processed. The claim
    (the processed_jobs row) and the removal of the job's outbox row are one statement, in the
    effect's transaction: the row goes exactly when the effect commits."""
    spec = spec_for(job)
    message = spec.decode(job)  # validated before any database work
    with unit_of_work() as uow:
        claimed = uow.session.execute(_CLAIM, {"job_id": job.id, "type": job.type}).first()
        if claimed is None:
            return False
        spec.handler(uow, message)
    return True


def _claim_statement() -> Any:
    # On the tables, not the mapped classes: an ORM insert() given parameters is a bulk insert.
    outbox, processed = cast(Table, OutboxJob.__table__), cast(Table, ProcessedJob.__table__)
    job_id = bindparam("job_id", type_=outbox.c.id.type)
    # SKIP LOCKED: a sweep holding the row (it is sending it again, or processing it directly right
    # now) removes it itself once it sees the job processed; waiting for it could deadlock.
    mine = select(outbox.c.id).where(outbox.c.id == job_id).with_for_update(skip_locked=True)
    gone = delete(outbox).where(outbox.c.id.in_(mine)).cte("gone")
    claim = (
        insert(processed)
        .values(job_id=bindparam("job_id"), type=bindparam("type"))
        .on_conflict_do_nothing(index_elements=[processed.c.job_id])
        .returning(processed.c.job_id)
    )
    return claim.add_cte(gone)


_CLAIM = _claim_statement()


def run_job(job: Job, attempt: int = 1) -> bool:
    """Process a job; returns False when it had already been processed. Raises what the handler raised."""
    start = time.perf_counter()
    try:
        applied = process_job(job)
    except Exception as exc:
        retention.record_failed(str(job.id), job.type, exc, attempt)
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
        if is_database_outage(exc):
            # Expected during an outage: the worker's failure handler logs one line (no stack) and
            # sets the retry delay; this counts how much of a failure spike is the database.
            metrics.add_metric(name="JobsDatabaseUnavailable", unit=MetricUnit.Count, value=1)
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
