"""Job handlers, one per type. Each runs its effect and marks the job processed in ONE transaction,
so a job delivered twice has the effect of one."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.dialects.postgresql import insert

from gbc.data.models import AuditLog, ProcessedJob
from gbc.data.transaction import UnitOfWork, unit_of_work
from gbc.observability import logger
from gbc.queue.jobs import AuditLogPayload, Job

Handler = Callable[[UnitOfWork, Job], None]


def _audit_log(uow: UnitOfWork, job: Job) -> None:
    payload = job.typed_payload()
    assert isinstance(payload, AuditLogPayload)
    uow.session.add(
        AuditLog(
            user_id=payload.user_id,
            action=payload.action,
            resource=payload.resource,
            resource_id=payload.resource_id,
            old_values=payload.old_values,
            new_values=payload.new_values,
            ip_address=payload.ip_address,
            user_agent=payload.user_agent,
        )
    )


HANDLERS: dict[str, Handler] = {
    "audit:log": _audit_log,
}


class UnknownJobType(Exception):
    pass


def process_job(job: Job) -> bool:
    """Run the job's handler once. Returns False when the job had already been processed."""
    handler = HANDLERS.get(job.type)
    if handler is None:
        raise UnknownJobType(job.type)
    with unit_of_work() as uow:
        claimed = uow.session.execute(
            insert(ProcessedJob)
            .values(job_id=job.id, type=job.type)
            .on_conflict_do_nothing(index_elements=[ProcessedJob.job_id])
            .returning(ProcessedJob.job_id)
        ).first()
        if claimed is None:
            logger.info("[Queue] Job already processed", extra={"job_id": str(job.id), "job_type": job.type})
            return False
        handler(uow, job)
    return True
