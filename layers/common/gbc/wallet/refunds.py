"""Refunds of held withdrawals whose voucher the chain can no longer accept.

The vault rejects a voucher once block.timestamp > deadline. The poller calls this with the time of
the block it has just confirmed and fully read: every later block is later still, so the voucher
can never pay out; and every block up to it has been read, so a payout would be a stored Withdraw
event. Only a PENDING withdrawal with neither is refunded, in the poller's transaction (the ledger
change invalidates the wallet caches after commit), and only WITHDRAWAL_REFUND_GRACE_SECONDS after
the deadline: a reorg deeper than the confirmations could bring back blocks with earlier times.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Text, cast, exists, select

from gbc.data.models import ChainEvent, ChainEventStatus, TransactionType, Withdrawal, WithdrawalStatus
from gbc.data.transaction import UnitOfWork
from gbc.ledger import apply_balance_change
from gbc.messages import AuditLogPayload
from gbc.observability import logger, metrics
from gbc.queue.outbox import enqueue_job
from gbc.settings import get_settings


def refund_expired_withdrawals(uow: UnitOfWork, confirmed_timestamp: int, limit: int = 500) -> int:
    confirmed_at = datetime.fromtimestamp(confirmed_timestamp, UTC)
    grace = timedelta(seconds=get_settings().withdrawal_refund_grace_seconds)
    paid = exists().where(
        ChainEvent.event == "Withdraw",
        ChainEvent.status != ChainEventStatus.ORPHANED,
        ChainEvent.args["nonce"].astext == cast(Withdrawal.nonce, Text),
    )
    expired = uow.session.scalars(
        select(Withdrawal)
        .where(Withdrawal.status == WithdrawalStatus.PENDING, Withdrawal.deadline + grace < confirmed_at, ~paid)
        .order_by(Withdrawal.deadline)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for withdrawal in expired:
        withdrawal.status = WithdrawalStatus.REFUNDED
        apply_balance_change(
            uow,
            withdrawal.user_id,
            TransactionType.WITHDRAWAL_REFUND,
            withdrawal.amount,
            f"withdrawal-refund:{withdrawal.id}",
            {"nonce": str(int(withdrawal.nonce)), "deadline": withdrawal.deadline.isoformat()},
        )
        enqueue_job(
            AuditLogPayload(
                userId=withdrawal.user_id,
                action="wallet.withdraw.refund",
                resource="withdrawal",
                resourceId=str(withdrawal.id),
                newValues={"status": WithdrawalStatus.REFUNDED.value, "confirmedAt": confirmed_at.isoformat()},
            ),
            uow,
        )
    if expired:
        metrics.add_metric(name="WithdrawalsRefunded", unit="Count", value=len(expired))
        logger.info("[Chain] refunded expired withdrawals", extra={"count": len(expired)})
    return len(expired)
