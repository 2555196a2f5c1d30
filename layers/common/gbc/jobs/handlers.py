"""Job handlers, one per job type, each declared with the message it handles. A handler runs in the
transaction that also records the job as processed (gbc.jobs.runner), so a job delivered twice has
the effect of one; domain keys (a ledger reference, a withdrawal nonce) protect the effects again
when the same event arrives as two different jobs."""

from __future__ import annotations

from decimal import Decimal

from gbc.data.models import AuditLog, TransactionType
from gbc.data.transaction import UnitOfWork
from gbc.jobs.registry import handles
from gbc.ledger import apply_balance_change
from gbc.messages import (
    AuditLogPayload,
    DepositEventPayload,
    FaucetEventPayload,
    StatsRecomputePayload,
    TransactionCreatePayload,
    WithdrawEventPayload,
)
from gbc.stats.service import apply_new_games, recompute_user_stats
from gbc.wallet.chain_credits import complete_withdrawal, credit_chain_event


@handles(AuditLogPayload)
def audit_log(uow: UnitOfWork, payload: AuditLogPayload) -> None:
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


@handles(TransactionCreatePayload)
def transaction_create(uow: UnitOfWork, payload: TransactionCreatePayload) -> None:
    apply_balance_change(
        uow,
        payload.user_id,
        TransactionType(payload.type),
        Decimal(payload.amount),
        payload.reference_id,
        payload.metadata,
    )


@handles(StatsRecomputePayload)
def stats_recompute(uow: UnitOfWork, payload: StatsRecomputePayload) -> None:
    # After a game: add what ended since the last update. Nightly or manual: count everything again.
    if payload.game_id is not None:
        apply_new_games(uow, payload.user_id)
    else:
        recompute_user_stats(uow, payload.user_id)


@handles(DepositEventPayload)
def deposit(uow: UnitOfWork, payload: DepositEventPayload) -> None:
    credit_chain_event(uow, payload, TransactionType.DEPOSIT)


@handles(FaucetEventPayload)
def faucet(uow: UnitOfWork, payload: FaucetEventPayload) -> None:
    credit_chain_event(uow, payload, TransactionType.FAUCET)


@handles(WithdrawEventPayload)
def withdraw(uow: UnitOfWork, payload: WithdrawEventPayload) -> None:
    complete_withdrawal(uow, payload)
