"""The transactional outbox. `enqueue_job` writes the job in the caller's transaction; after commit
the jobs are delivered (sent to SQS in batches, or processed directly if SQS is down) and their rows
deleted, after the response when the handler allows it (gbc.after_response): nobody waits for it.
Rows a crash or an outage left behind are delivered by `sweep_outbox` (scheduled).

Deleting the rows of delivered jobs is bookkeeping, not data: it runs as one simple-protocol round
trip with `synchronous_commit` off, so the request does not wait for a second WAL flush. If that
delete is lost (a crash before the WAL writer flushes it, or any error), the rows stay and the sweep
sends those jobs again; the worker's processed_jobs row makes the second delivery a no-op."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import delete, select, update

from gbc.after_response import defer
from gbc.data.database import get_engine
from gbc.data.models import OutboxJob
from gbc.data.transaction import UnitOfWork, unit_of_work
from gbc.observability import logger
from gbc.queue.jobs import Job, Message, new_job
from gbc.queue.publisher import deliver
from gbc.settings import get_settings


def enqueue_job(message: Message, uow: UnitOfWork | None = None) -> Job:
    """Enqueue a job (its message names its type and queue). Given the transaction that caused it,
    the job commits (or not) with it; without one, it gets a transaction of its own: the same path,
    so nothing is lost either way."""
    if uow is None:
        with unit_of_work() as own:
            return enqueue_job(message, own)
    job = new_job(message)
    uow.session.add(
        OutboxJob(id=job.id, type=job.type, payload=job.payload, queue=job.queue, created_at=job.created_at)
    )
    pending: list[Job] | None = uow.info.get("outbox_jobs")
    if pending is None:
        pending = uow.info["outbox_jobs"] = []
        uow.after_commit(partial(defer, partial(_flush, pending)))
    pending.append(job)
    return job


def _forget(ids: set[uuid.UUID], uow: UnitOfWork) -> None:
    if ids:
        uow.session.execute(delete(OutboxJob).where(OutboxJob.id.in_(ids)))


def _forget_delivered(ids: set[uuid.UUID]) -> None:
    """Delete the rows of jobs just delivered: BEGIN, SET LOCAL synchronous_commit, DELETE and COMMIT
    in one simple-query round trip (no parameters: the ids are UUIDs, formatted canonically). Falls
    back to an ordinary transaction if the driver cannot run it; a failure leaves the rows to the sweep."""
    if not ids:
        return
    listed = ",".join(f"'{uuid.UUID(str(i))}'" for i in ids)
    sql = f"BEGIN; SET LOCAL synchronous_commit TO OFF; DELETE FROM outbox WHERE id IN ({listed}); COMMIT"  # noqa: S608 - UUIDs
    try:
        raw = get_engine().raw_connection()
    except Exception:
        logger.exception("[Queue] could not clean up delivered outbox rows; the sweep will resend them")
        return
    try:
        driver = raw.driver_connection
        # pg8000: the simple query protocol, one round trip
        if driver is not None and hasattr(driver, "execute_simple"):
            driver.execute_simple(sql)
        else:  # another DB-API driver: the same statements through a cursor
            cursor = raw.cursor()
            cursor.execute(sql)
            cursor.close()
    except Exception:
        logger.exception("[Queue] could not clean up delivered outbox rows; the sweep will resend them")
        raw.invalidate()  # the connection's state is unknown: do not return it to the pool
        return
    raw.close()


def _flush(jobs: list[Job]) -> None:
    """After commit: deliver what this transaction enqueued. No lock is taken: the sweep only looks
    at rows older than OUTBOX_SWEEP_AGE_SECONDS, and a rare double send is harmless (idempotent)."""
    _forget_delivered(deliver(jobs))


def _as_job(row: OutboxJob) -> Job:
    return Job(id=row.id, type=row.type, payload=row.payload, created_at=row.created_at, queue=row.queue)


def sweep_outbox(limit: int = 500) -> int:
    """Deliver outbox rows older than OUTBOX_SWEEP_AGE_SECONDS. Rows are locked (SKIP LOCKED) for the
    duration, so two sweeps never deliver the same row at once."""
    cutoff = datetime.now(UTC) - timedelta(seconds=get_settings().outbox_sweep_age_seconds)
    with unit_of_work() as uow:
        rows = uow.session.scalars(
            select(OutboxJob)
            .where(OutboxJob.created_at < cutoff)
            .order_by(OutboxJob.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        done = deliver([_as_job(row) for row in rows])
        _forget(done, uow)
        left = [row.id for row in rows if row.id not in done]
        if left:
            uow.session.execute(update(OutboxJob).where(OutboxJob.id.in_(left)).values(attempts=OutboxJob.attempts + 1))
    logger.info("[Queue] outbox sweep", extra={"found": len(rows), "delivered": len(done), "left": len(left)})
    return len(done)
