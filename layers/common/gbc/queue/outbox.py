"""The transactional outbox: `enqueue_job` writes the job in the caller's transaction; once that
commits, the rows it wrote are sent to SQS in batches of up to 10 and deleted. Rows left behind by a
crash or an SQS outage are re-sent by `sweep_outbox` (scheduled)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from gbc.data.models import OutboxJob
from gbc.data.transaction import UnitOfWork, unit_of_work
from gbc.observability import logger
from gbc.queue.jobs import Job, JobType, Payload, new_job
from gbc.queue.sqs import queue_url, sqs_client
from gbc.settings import get_settings

SQS_BATCH = 10


def enqueue_job(uow: UnitOfWork, job_type: JobType, payload: Payload) -> Job:
    """Write a job into the current transaction; it is sent after commit."""
    job = new_job(job_type, payload)
    uow.session.add(
        OutboxJob(id=job.id, type=job.type, payload=job.payload, queue=job.queue, created_at=job.created_at)
    )
    pending: list[uuid.UUID] | None = uow.info.get("outbox_ids")
    if pending is None:
        pending = uow.info["outbox_ids"] = []
        uow.after_commit(lambda: flush_outbox(pending))
    pending.append(job.id)
    return job


def _as_job(row: OutboxJob) -> Job:
    return Job(id=row.id, type=row.type, payload=row.payload, created_at=row.created_at)  # type: ignore[arg-type]


def _send(jobs: Sequence[Job]) -> list[uuid.UUID]:
    """Send jobs in batches per queue; returns the ids SQS accepted."""
    sent: list[uuid.UUID] = []
    client = sqs_client()
    by_queue: dict[str, list[Job]] = {}
    for job in jobs:
        by_queue.setdefault(job.queue, []).append(job)
    for queue, queued in by_queue.items():
        url = queue_url(queue)  # type: ignore[arg-type]
        for start in range(0, len(queued), SQS_BATCH):
            batch = queued[start : start + SQS_BATCH]
            response = client.send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "MessageBody": job.to_message()} for i, job in enumerate(batch)],
            )
            sent.extend(batch[int(ok["Id"])].id for ok in response.get("Successful", []))
            for failed in response.get("Failed", []):
                logger.warning("[Queue] send failed", extra={"job_id": str(batch[int(failed["Id"])].id), **failed})
    return sent


def flush_outbox(ids: Iterable[uuid.UUID]) -> int:
    """Send the given outbox rows (if still there) and delete the ones SQS accepted."""
    ids = list(ids)
    with unit_of_work() as uow:
        rows = uow.session.scalars(
            select(OutboxJob).where(OutboxJob.id.in_(ids)).with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        sent = _send([_as_job(row) for row in rows])
        if sent:
            uow.session.execute(delete(OutboxJob).where(OutboxJob.id.in_(sent)))
        unsent = [row.id for row in rows if row.id not in set(sent)]
        if unsent:
            uow.session.execute(
                update(OutboxJob).where(OutboxJob.id.in_(unsent)).values(attempts=OutboxJob.attempts + 1)
            )
    return len(sent)


def sweep_outbox(limit: int = 500) -> int:
    """Re-send jobs older than OUTBOX_SWEEP_AGE_SECONDS (a crash or an outage left them)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=get_settings().outbox_sweep_age_seconds)
    with unit_of_work() as uow:
        ids = uow.session.scalars(
            select(OutboxJob.id).where(OutboxJob.created_at < cutoff).order_by(OutboxJob.created_at).limit(limit)
        ).all()
    sent = flush_outbox(ids) if ids else 0
    if ids:
        logger.info("[Queue] outbox sweep", extra={"found": len(ids), "sent": sent})
    return sent
