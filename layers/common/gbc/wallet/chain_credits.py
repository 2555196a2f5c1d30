"""What a chain event does to the in-game wallet, exactly once per (chain id, tx hash, log index):
a Deposit or FaucetClaim credits the player; a Withdraw completes the held withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from gbc.cache.query_cache import invalidate_after_commit
from gbc.data.models import ChainEvent, ChainEventStatus, TransactionType, User, Withdrawal, WithdrawalStatus
from gbc.data.transaction import UnitOfWork
from gbc.errors import Conflict, NotFound
from gbc.ledger import apply_balance_change, find_entry
from gbc.observability import logger
from gbc.queue.jobs import ChainEventPayload


def event_reference(payload: ChainEventPayload) -> str:
    return f"{payload.chain_id}:{payload.tx_hash.lower()}:{payload.log_index}"


def _user_for_wallet(uow: UnitOfWork, address: str) -> User:
    """The player behind an address; someone who deposits before signing in gets an account."""
    wallet = address.lower()
    uow.session.execute(insert(User).values(wallet_address=wallet).on_conflict_do_nothing())
    return uow.session.scalars(select(User).where(User.wallet_address == wallet)).one()


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
    """Deposit or faucet claim: credit once. Returns False when the event had been credited."""
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
    if applied:
        label = "deposit" if kind is TransactionType.DEPOSIT else "faucet claim"
        logger.info(
            f"[Worker] Processed {label}: {payload.amount} GBC for user {user.id}", extra={"ref": entry.reference_id}
        )
    return applied


def complete_withdrawal(uow: UnitOfWork, payload: ChainEventPayload) -> bool:
    """The vault paid a voucher out: the held withdrawal with that nonce is COMPLETED, once."""
    if payload.nonce is None:
        raise NotFound("Withdraw event without a nonce")
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
        # Refunded, yet paid on chain: the refund job must never let this happen. Loudly stop.
        raise Conflict("withdrawal paid on chain but not pending", status=withdrawal.status.value)
    withdrawal.status = WithdrawalStatus.COMPLETED
    withdrawal.tx_hash = payload.tx_hash.lower()
    withdrawal.completed_at = datetime.now(UTC)
    invalidate_after_commit(uow, withdrawal.user_id, ("wallet",))  # its pending withdrawals
    logger.info(
        f"[Worker] Processed withdrawal: {payload.amount} GBC for user {withdrawal.user_id}",
        extra={"nonce": payload.nonce},
    )
    return True
