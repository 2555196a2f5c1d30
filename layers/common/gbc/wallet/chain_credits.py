"""What a chain event does to the in-game wallet, exactly once per (chain id, tx hash, log index,
block): a Deposit or FaucetClaim credits the player; a Withdraw completes the held withdrawal. When a
reorg orphans the event's block, `undo_orphaned_event` takes the effect back; a job that arrives for
an orphaned event does nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from gbc.business_metrics import count_after_commit
from gbc.data.models import (
    ChainEvent,
    ChainEventStatus,
    DepositIntent,
    DepositIntentStatus,
    TransactionType,
    User,
    Withdrawal,
    WithdrawalStatus,
)
from gbc.data.transaction import UnitOfWork
from gbc.errors import Conflict, InsufficientBalance, NotFound
from gbc.events import WithdrawalChanged
from gbc.ledger import apply_balance_change, find_entry
from gbc.messages import ChainEventPayload
from gbc.money import money_str
from gbc.observability import logger, metrics

CREDIT_OF_EVENT = {"Deposit": TransactionType.DEPOSIT, "FaucetClaim": TransactionType.FAUCET}
REVERSAL_OF = {
    TransactionType.DEPOSIT: TransactionType.DEPOSIT_REVERSAL,
    TransactionType.FAUCET: TransactionType.FAUCET_REVERSAL,
}


def _reference(chain_id: int, tx_hash: str, log_index: int, block_hash: str, generation: int) -> str:
    """The credit's ledger reference. The block hash's first 16 hex digits tell a re-mined log from
    the orphaned one; the generation tells a log stored again in the same block (a fork that flipped
    away and back) from its reversed first credit. Fits in 128 characters."""
    suffix = f"#{generation}" if generation else ""
    return f"{chain_id}:{tx_hash.lower()}:{log_index}@{block_hash.lower()[2:18]}{suffix}"


def event_reference(payload: ChainEventPayload) -> str:
    return _reference(payload.chain_id, payload.tx_hash, payload.log_index, payload.block_hash, payload.generation)


def _still_canonical(uow: UnitOfWork, payload: ChainEventPayload) -> bool:
    """False when the poller has orphaned this log (or re-stored it from another block). The row is
    locked, so an undo running at the same time either sees this job's credit or makes it skip."""
    row = uow.session.execute(
        select(ChainEvent.status, ChainEvent.block_hash, ChainEvent.generation)
        .where(
            ChainEvent.chain_id == payload.chain_id,
            ChainEvent.tx_hash == payload.tx_hash.lower(),
            ChainEvent.log_index == payload.log_index,
        )
        .with_for_update()
    ).first()
    # No row: a job enqueued without the poller (a replay, an admin): the payload is all there is.
    return row is None or (
        row.status is not ChainEventStatus.ORPHANED
        and row.block_hash == payload.block_hash.lower()
        and row.generation == payload.generation
    )


def _user_for_wallet(uow: UnitOfWork, address: str) -> User:
    """The player behind an address; someone who deposits before signing in gets an account."""
    wallet = address.lower()
    uow.session.execute(insert(User).values(wallet_address=wallet).on_conflict_do_nothing())
    return uow.session.scalars(select(User).where(User.wallet_address == wallet)).one()


def _complete_intent(uow: UnitOfWork, user_id: object, amount: object) -> None:
    """The player's oldest open deposit intent for this amount is fulfilled (a deposit needs none)."""
    oldest = (
        select(DepositIntent.id)
        .where(
            DepositIntent.user_id == user_id,
            DepositIntent.amount == amount,
            DepositIntent.status == DepositIntentStatus.PENDING,
        )
        .order_by(DepositIntent.created_at)
        .limit(1)
        .scalar_subquery()
    )
    uow.session.execute(
        update(DepositIntent).where(DepositIntent.id == oldest).values(status=DepositIntentStatus.COMPLETED)
    )


def _mark_event_processed(uow: UnitOfWork, payload: ChainEventPayload) -> None:
    uow.session.execute(
        update(ChainEvent)
        .where(
            ChainEvent.chain_id == payload.chain_id,
            ChainEvent.tx_hash == payload.tx_hash.lower(),
            ChainEvent.log_index == payload.log_index,
        )
        .values(status=ChainEventStatus.PROCESSED)
    )


def credit_chain_event(uow: UnitOfWork, payload: ChainEventPayload, kind: TransactionType) -> bool:
    """Deposit or faucet claim: credit once. Returns False when the event had been credited (or its
    block was orphaned)."""
    if not _still_canonical(uow, payload):
        logger.info("[Worker] Skipped an orphaned chain event", extra={"ref": event_reference(payload)})
        return False
    user = _user_for_wallet(uow, payload.address)
    reference = event_reference(payload)
    try:
        # A savepoint: the same log arriving as two jobs at once must end as "already credited", not as
        # a failed job (the second UPDATE passes its NOT EXISTS on its snapshot, then hits the unique key).
        with uow.session.begin_nested():
            entry, applied = apply_balance_change(
                uow,
                user.id,
                kind,
                payload.amount,
                reference,
                {"txHash": payload.tx_hash, "logIndex": payload.log_index, "blockNumber": payload.block_number},
            )
    except IntegrityError as exc:
        if "uq_transactions_type_reference" not in str(exc.orig):
            raise
        found = find_entry(uow, kind, reference)
        if found is None:
            raise
        entry, applied = found, False
    _mark_event_processed(uow, payload)
    if applied and kind is TransactionType.DEPOSIT:
        _complete_intent(uow, user.id, payload.amount)
    if applied:
        if kind is TransactionType.DEPOSIT:
            count_after_commit(uow, DepositsCredited=1, GbcDeposited=payload.amount)
        else:
            count_after_commit(uow, FaucetClaims=1)
        label = "deposit" if kind is TransactionType.DEPOSIT else "faucet claim"
        logger.info(
            f"[Worker] Processed {label}: {payload.amount} GBC for user {user.id}", extra={"ref": entry.reference_id}
        )
    return applied


def complete_withdrawal(uow: UnitOfWork, payload: ChainEventPayload) -> bool:
    """The vault paid a voucher out: the held withdrawal with that nonce is COMPLETED, once."""
    if payload.nonce is None:
        raise NotFound("Withdraw event without a nonce")
    if not _still_canonical(uow, payload):
        return False
    # As NUMERIC: a uint256 nonce does not fit the bigint a plain int parameter is sent as.
    withdrawal = uow.session.scalar(
        select(Withdrawal).where(Withdrawal.nonce == Decimal(payload.nonce)).with_for_update()
    )
    if withdrawal is None:
        raise NotFound("no withdrawal with this nonce", nonce=payload.nonce)
    _mark_event_processed(uow, payload)
    if withdrawal.status is WithdrawalStatus.COMPLETED:
        return False
    if withdrawal.status is not WithdrawalStatus.PENDING:
        # Refunded, yet paid on chain (only a reorg deeper than the refund's grace can do this): paid
        # twice. Loudly stop; the job lands in the DLQ for an operator.
        metrics.add_metric(name="WithdrawalPaidAfterRefund", unit="Count", value=1)
        logger.error("[Worker] withdrawal paid on chain but not pending", extra={"withdrawal": str(withdrawal.id)})
        raise Conflict("withdrawal paid on chain but not pending", status=withdrawal.status.value)
    withdrawal.status = WithdrawalStatus.COMPLETED
    withdrawal.tx_hash = payload.tx_hash.lower()
    withdrawal.completed_at = datetime.now(UTC)
    paid = {
        "id": str(withdrawal.id),
        "status": "COMPLETED",
        "amount": money_str(withdrawal.amount),
        "txHash": withdrawal.tx_hash,
    }
    uow.record(WithdrawalChanged(user_id=withdrawal.user_id, withdrawal=paid))  # no longer pending
    count_after_commit(uow, WithdrawalsPaid=1, GbcWithdrawn=withdrawal.amount)
    logger.info(
        f"[Worker] Processed withdrawal: {payload.amount} GBC for user {withdrawal.user_id}",
        extra={"nonce": payload.nonce},
    )
    return True


def undo_orphaned_event(uow: UnitOfWork, event: ChainEvent) -> None:
    """The event's block left the chain (the caller holds the row lock): mark it orphaned and take
    back what it did."""
    event.status = ChainEventStatus.ORPHANED
    kind = CREDIT_OF_EVENT.get(event.event)
    if kind is not None:
        _reverse_credit(uow, event, kind)
    elif event.event == "Withdraw":
        _reopen_withdrawal(uow, event)


def _reverse_credit(uow: UnitOfWork, event: ChainEvent, kind: TransactionType) -> None:
    reference = _reference(event.chain_id, event.tx_hash, event.log_index, event.block_hash, event.generation)
    credit = find_entry(uow, kind, reference)
    if credit is None:
        return  # not credited yet: its job will find the event orphaned and do nothing
    reversal = REVERSAL_OF[kind]
    metadata = {"reason": "reorg", "blockHash": event.block_hash, "credit": str(credit.id)}
    try:
        with uow.session.begin_nested():
            apply_balance_change(uow, credit.user_id, reversal, -credit.amount, reference, metadata)
        return
    except InsufficientBalance:
        pass
    # Already played or withdrawn: take what is there and record the rest for the operators (a
    # balance never goes negative).
    balance = uow.session.scalar(select(User.balance).where(User.id == credit.user_id).with_for_update())
    assert balance is not None  # the credit's user: users are never deleted
    shortfall = credit.amount - balance
    if balance > 0:
        apply_balance_change(
            uow, credit.user_id, reversal, -balance, reference, {**metadata, "shortfall": str(shortfall)}
        )
    metrics.add_metric(name="ChainReorgShortfall", unit="Count", value=1)
    logger.error(
        "[Chain] reorg reversal short of funds",
        extra={"userId": str(credit.user_id), "reference": reference, "shortfall": str(shortfall)},
    )


def _reopen_withdrawal(uow: UnitOfWork, event: ChainEvent) -> None:
    """The payout's block is gone: the voucher can be submitted again (or expire and be refunded)."""
    nonce = Decimal(event.args["nonce"])
    withdrawal = uow.session.scalar(select(Withdrawal).where(Withdrawal.nonce == nonce).with_for_update())
    if withdrawal is None or withdrawal.status is not WithdrawalStatus.COMPLETED:
        return
    if withdrawal.tx_hash != event.tx_hash:
        return
    withdrawal.status = WithdrawalStatus.PENDING
    withdrawal.tx_hash = None
    withdrawal.completed_at = None
    uow.record(WithdrawalChanged(user_id=withdrawal.user_id))  # pending again
