"""Job handlers, one per type. `process_job` runs the handler and marks the job processed in ONE
transaction, so a job delivered twice has the effect of one. Domain keys (a ledger reference, a
withdrawal nonce) protect the effects again when the same event arrives as two different jobs."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert

from gbc.data.models import AuditLog, ProcessedJob, TransactionType
from gbc.data.transaction import UnitOfWork, unit_of_work
from gbc.ledger import apply_balance_change
from gbc.queue.jobs import (
    AuditLogPayload,
    ChainEventPayload,
    Job,
    Payload,
    StatsRecomputePayload,
    TransactionCreatePayload,
)
from gbc.stats.service import apply_new_games, recompute_user_stats
from gbc.wallet.chain_credits import complete_withdrawal, credit_chain_event

Handler = Callable[[UnitOfWork, Payload], object]


def _audit_log(uow: UnitOfWork, payload: AuditLogPayload) -> None:
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


def _transaction_create(uow: UnitOfWork, payload: TransactionCreatePayload) -> None:
    apply_balance_change(
        uow,
        payload.user_id,
        TransactionType(payload.type),
        Decimal(payload.amount),
        payload.reference_id,
        payload.metadata,
    )


def _stats_recompute(uow: UnitOfWork, payload: StatsRecomputePayload) -> None:
    # After a game: add what ended since the last update. Nightly or manual: count everything again.
    if payload.game_id is not None:
        apply_new_games(uow, payload.user_id)
    else:
        recompute_user_stats(uow, payload.user_id)


def _deposit(uow: UnitOfWork, payload: ChainEventPayload) -> None:
    credit_chain_event(uow, payload, TransactionType.DEPOSIT)


def _faucet(uow: UnitOfWork, payload: ChainEventPayload) -> None:
    credit_chain_event(uow, payload, TransactionType.FAUCET)


def _withdraw(uow: UnitOfWork, payload: ChainEventPayload) -> None:
    complete_withdrawal(uow, payload)


HANDLERS: dict[str, Handler] = {
    "audit:log": _audit_log,  # type: ignore[dict-item]
    "transaction:create": _transaction_create,  # type: ignore[dict-item]
    "stats:recompute": _stats_recompute,  # type: ignore[dict-item]
    "blockchain:deposit": _deposit,  # type: ignore[dict-item]
    "blockchain:faucet": _faucet,  # type: ignore[dict-item]
    "blockchain:withdraw": _withdraw,  # type: ignore[dict-item]
}


def process_job(job: Job) -> bool:
    """Run the job's handler once. Returns False when the job had already been processed."""
    handler = HANDLERS[job.type]
    payload = job.typed_payload()  # validated before any database work
    with unit_of_work() as uow:
        claimed = uow.session.execute(
            insert(ProcessedJob)
            .values(job_id=job.id, type=job.type)
            .on_conflict_do_nothing(index_elements=[ProcessedJob.job_id])
            .returning(ProcessedJob.job_id)
        ).first()
        if claimed is None:
            return False
        handler(uow, payload)
    return True
