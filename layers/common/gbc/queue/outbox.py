"""The transactional outbox. `enqueue_job` writes the job in the caller's transaction; after commit
the jobs are delivered (sent to SQS in batches, or processed directly if SQS is down), after the
response when the handler allows it (gbc.after_response): nobody waits for it.

A row stays until the job is processed: the worker deletes it in the job's own transaction
(gbc.jobs.runner), so a message SQS accepted and never delivered (lost, purged, an emulator
restarted) is not lost with it. `sweep_outbox` (scheduled) sends rows nobody sent (a crash or an
outage between commit and send) and sends again rows sent OUTBOX_RESEND_AFTER_SECONDS ago and still
unprocessed, at most OUTBOX_MAX_SENDS times; the worker's processed_jobs row makes any second
delivery a no-op.

Marking rows sent is bookkeeping, not data: one simple-protocol round trip with `synchronous_commit`
off, so the request's container does not wait for a second WAL flush. If it is lost, the sweep sends
the job again (harmless)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from sqlalchemy import Table, and_, bindparam, delete, func, insert, or_, select, update

from gbc.after_response import defer
from gbc.data.database import get_engine
from gbc.data.models import OutboxJob, ProcessedJob
from gbc.data.transaction import UnitOfWork, unit_of_work
from gbc.observability import logger, metrics
from gbc.queue.jobs import Job, Message, new_job
from gbc.queue.publisher import deliver
from gbc.settings import get_settings

_OUTBOX = cast(Table, OutboxJob.__table__)
_UNWRITTEN = "outbox_unwritten"


def enqueue_job(message: Message, uow: UnitOfWork | None = None) -> Job:
    """Enqueue a job (its message names its type and queue). Given the transaction that caused it,
    the job commits (or not) with it; without one, it gets a transaction of its own: the same path,
    so nothing is lost either way. Its row is written just before COMMIT (one INSERT for all of the
    transaction's jobs), unless a statement of the transaction carries it (`carrying_jobs`)."""
    if uow is None:
        with unit_of_work() as own:
            return enqueue_job(message, own)
    job = new_job(message)
    unwritten: list[Job] | None = uow.info.get(_UNWRITTEN)
    if unwritten is None:
        unwritten = uow.info[_UNWRITTEN] = []
        uow.before_commit(partial(_write_unwritten, uow))
    unwritten.append(job)
    pending: list[Job] | None = uow.info.get("outbox_jobs")
    if pending is None:
        pending = uow.info["outbox_jobs"] = []
        uow.after_commit(partial(defer, partial(_flush, pending)))
    pending.append(job)
    return job


def _row(job: Job) -> dict[str, Any]:
    # Every column with a default named too: two INSERTs riding one statement cannot share its default's parameter.
    return {
        "id": job.id,
        "type": job.type,
        "payload": job.payload,
        "queue": job.queue,
        "created_at": job.created_at,
        "attempts": 0,
    }


def _write_unwritten(uow: UnitOfWork) -> None:
    jobs = uow.info.get(_UNWRITTEN)
    if jobs:
        uow.info[_UNWRITTEN] = []
        uow.session.execute(insert(_OUTBOX), [_row(job) for job in jobs])


_carriers: dict[tuple[int, int], Any] = {}


def carrying_jobs(statement: Any, uow: UnitOfWork) -> tuple[Any, dict[str, Any]]:
    """`statement` with the rows of the jobs this transaction enqueued and has not written yet as an
    INSERT riding along (a CTE: one round trip less), and the parameters they need. A game step that
    ends the round writes its jobs this way. The statements are built once per shape."""
    jobs: list[Job] = uow.info.get(_UNWRITTEN) or []
    if not jobs:
        return statement, {}
    uow.info[_UNWRITTEN] = []
    shape = (id(statement), len(jobs))
    carrier = _carriers.get(shape)
    if carrier is None:
        # One single-row INSERT a job: SQLAlchemy cannot cache a multi-row VALUES (every step would be
        # compiled again), it caches these.
        inserts = [
            insert(_OUTBOX)
            .values({column: bindparam(f"outbox_{column}_{i}") for column in _row(jobs[0])})
            .cte(f"job_{i}")
            for i in range(len(jobs))
        ]
        carrier = _carriers[shape] = statement.add_cte(*inserts)
    params = {f"outbox_{column}_{i}": value for i, job in enumerate(jobs) for column, value in _row(job).items()}
    return carrier, params


def _mark_sent(ids: set[uuid.UUID]) -> None:
    """Record that these jobs were handed over (sent, or processed directly: their rows are gone):
    BEGIN, SET LOCAL synchronous_commit, UPDATE and COMMIT in one simple-query round trip (no
    parameters: the ids are UUIDs, formatted canonically). Falls back to an ordinary cursor if the
    driver cannot run it; a failure leaves the rows unsent for the sweep (a harmless second send)."""
    if not ids:
        return
    listed = ",".join(f"'{uuid.UUID(str(i))}'" for i in ids)
    update_sent = f"UPDATE outbox SET sent_at = now() WHERE id IN ({listed})"  # noqa: S608 - UUIDs
    sql = f"BEGIN; SET LOCAL synchronous_commit TO OFF; {update_sent}; COMMIT"
    try:
        raw = get_engine().raw_connection()
    except Exception:
        logger.exception("[Queue] could not mark outbox rows sent; the sweep will send them again")
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
        logger.exception("[Queue] could not mark outbox rows sent; the sweep will send them again")
        raw.invalidate()  # the connection's state is unknown: do not return it to the pool
        return
    raw.close()


def _flush(jobs: list[Job]) -> None:
    """After commit: deliver what this transaction enqueued. No lock is taken: the sweep only looks
    at rows older than OUTBOX_SWEEP_AGE_SECONDS, and a rare double send is harmless (idempotent)."""
    _mark_sent(deliver(jobs))


def _as_job(row: OutboxJob) -> Job:
    return Job(id=row.id, type=row.type, payload=row.payload, created_at=row.created_at, queue=row.queue)


def sweep_outbox(limit: int = 500) -> int:
    """Deliver the rows nobody sent (older than OUTBOX_SWEEP_AGE_SECONDS), and again the rows sent
    OUTBOX_RESEND_AFTER_SECONDS ago and still unprocessed (fewer than OUTBOX_MAX_SENDS sends so far).
    Rows are locked (SKIP LOCKED) for the duration, so two sweeps never deliver the same row at once.
    Returns how many were delivered."""
    settings = get_settings()
    now = datetime.now(UTC)
    unsent = and_(
        OutboxJob.sent_at.is_(None), OutboxJob.created_at < now - timedelta(seconds=settings.outbox_sweep_age_seconds)
    )
    lost = and_(
        OutboxJob.sent_at < now - timedelta(seconds=settings.outbox_resend_after_seconds),
        OutboxJob.attempts < settings.outbox_max_sends,
    )
    with unit_of_work() as uow:
        rows = uow.session.scalars(
            select(OutboxJob)
            .where(or_(unsent, lost))
            .order_by(OutboxJob.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        rows = _without_processed(uow, list(rows))
        if not rows:
            _report_stuck(uow, settings.outbox_max_sends)
            return 0
        resent = sum(1 for row in rows if row.sent_at is not None)
        done = deliver([_as_job(row) for row in rows])
        # Processed directly (SQS down): the job's transaction skipped the row this sweep holds.
        done -= _drop_processed(uow, done)
        # Every attempt counts (a send, or a failure to send), so a job SQS keeps losing stops.
        uow.session.execute(
            update(OutboxJob).where(OutboxJob.id.in_([row.id for row in rows])).values(attempts=OutboxJob.attempts + 1)
        )
        if done:
            uow.session.execute(update(OutboxJob).where(OutboxJob.id.in_(done)).values(sent_at=func.now()))
        _report_stuck(uow, settings.outbox_max_sends)
    left = len(rows) - len(done)
    logger.info(
        "[Queue] outbox sweep", extra={"found": len(rows), "delivered": len(done), "resent": resent, "left": left}
    )
    if resent:
        metrics.add_metric(name="OutboxResent", unit=MetricUnit.Count, value=resent)
    return len(done)


def report_backlog() -> tuple[int, float]:
    """OutboxBacklog and OutboxOldestAge: the rows not handed to SQS yet and the age of the oldest
    (0 when there is none), in one statement on the database's clock. Each sweep reports them after
    its work: what it could not deliver, plus what commits are sending at that moment (milliseconds
    old). Returns (rows, seconds)."""
    with get_engine().connect() as conn:
        rows, oldest = conn.execute(
            select(func.count(), func.extract("epoch", func.now() - func.min(OutboxJob.created_at))).where(
                OutboxJob.sent_at.is_(None)
            )
        ).one()
    age = max(float(oldest or 0), 0.0)
    metrics.add_metric(name="OutboxBacklog", unit=MetricUnit.Count, value=rows)
    metrics.add_metric(name="OutboxOldestAge", unit=MetricUnit.Seconds, value=age)
    return int(rows), age


def _processed_among(uow: UnitOfWork, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    return set(uow.session.scalars(select(ProcessedJob.job_id).where(ProcessedJob.job_id.in_(ids))))


def _drop_processed(uow: UnitOfWork, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Delete the rows (held by this sweep) whose jobs are processed; returns their ids."""
    processed = _processed_among(uow, ids)
    if processed:
        uow.session.execute(delete(OutboxJob).where(OutboxJob.id.in_(processed)))
    return processed


def _without_processed(uow: UnitOfWork, rows: list[OutboxJob]) -> list[OutboxJob]:
    """Rows whose jobs were processed while this sweep held them (the job skipped the locked row)
    are deleted, not sent again."""
    processed = _drop_processed(uow, {row.id for row in rows})
    return [row for row in rows if row.id not in processed]


def _report_stuck(uow: UnitOfWork, max_sends: int) -> None:
    """Rows sent OUTBOX_MAX_SENDS times and never processed: their jobs keep failing (see the DLQ)
    or keep being lost; an operator decides (OutboxStuck)."""
    stuck = uow.session.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.attempts >= max_sends))
    if stuck:
        logger.error("[Queue] outbox rows sent the most times and still unprocessed", extra={"rows": stuck})
        metrics.add_metric(name="OutboxStuck", unit=MetricUnit.Count, value=stuck)
