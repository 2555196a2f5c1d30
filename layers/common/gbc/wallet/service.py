"""The wallet API: summary, the ledger, deposit intents and withdrawal holds."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from sqlalchemy import func, select

from gbc.addresses import checksum
from gbc.cache import Keys, cache_query
from gbc.data.models import (
    DepositIntent,
    Transaction,
    TransactionType,
    User,
    Withdrawal,
    WithdrawalStatus,
)
from gbc.data.transaction import unit_of_work
from gbc.errors import DomainError, NotFound
from gbc.ledger import LedgerEntry, apply_balance_change
from gbc.messages import AuditLogPayload
from gbc.money import money_str
from gbc.pagination import LEDGER_ORDER, fetch_page, validate_cursor
from gbc.queue.outbox import enqueue_job
from gbc.settings import get_settings
from gbc.wallet.views import (
    DepositInstructions,
    DepositStep,
    PendingWithdrawal,
    TransactionsPage,
    WalletSummary,
    WithdrawalHold,
    WithdrawalVoucher,
)

WEI = Decimal(10) ** 18


def wallet_summary(user_id: uuid.UUID) -> WalletSummary:
    """Cached as {"v": balance_version, "summary": its JSON form}: bets, payouts and purchases write
    the new balance through (gbc.cache.sync), newer versions only."""
    cached = cache_query(*Keys.wallet_summary(user_id), lambda: _load_wallet(user_id), user_id=user_id)
    return WalletSummary.model_validate(cached["summary"])


def _load_wallet(user_id: uuid.UUID) -> dict[str, Any]:
    with unit_of_work() as uow:
        user = uow.session.get(User, user_id)
        if user is None:
            raise NotFound("user not found")
        pending = list(
            uow.session.scalars(
                select(Withdrawal)
                .where(Withdrawal.user_id == user_id, Withdrawal.status == WithdrawalStatus.PENDING)
                .order_by(Withdrawal.created_at.desc())
            )
        )
        return {"v": user.balance_version, "summary": WalletSummary.from_user(user, pending).to_json()}


def transactions_page(user_id: uuid.UUID, limit: int, cursor: str | None) -> TransactionsPage:
    """The ledger newest first in its strict order: each row's balanceBefore is the next row's
    balanceAfter."""
    validate_cursor(LEDGER_ORDER, cursor)
    cached = cache_query(
        *Keys.transactions(user_id, cursor, limit),
        lambda: _load_transactions(user_id, limit, cursor),
        user_id=user_id,
        first_page=cursor is None,
        deep=cursor is not None,
    )
    return TransactionsPage.model_validate(cached)


def _load_transactions(user_id: uuid.UUID, limit: int, cursor: str | None) -> dict[str, Any]:
    query = select(Transaction).where(Transaction.user_id == user_id)
    entries, next_cursor = fetch_page(query, cursor, LEDGER_ORDER, limit)
    page = TransactionsPage(transactions=[LedgerEntry.from_row(t) for t in entries], next_cursor=next_cursor)
    return page.to_json()


class DepositsUnavailable(DomainError):
    """No vault is configured (the local stack without Node.js has no chain): an instruction to send
    GBC to the zero address would burn it."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


def deposit_intent(user_id: uuid.UUID, amount: Decimal, currency: str) -> DepositInstructions:
    """Where and how to deposit on chain; the poller credits the Deposit event when it comes."""
    settings = get_settings()
    if int(settings.vault_address, 16) == 0:
        raise DepositsUnavailable("Deposits are unavailable: no vault contract is configured (VAULT_ADDRESS)")
    expires = datetime.now(UTC) + timedelta(seconds=settings.deposit_intent_ttl_seconds)
    wei = int(amount * WEI)
    with unit_of_work() as uow:
        intent = DepositIntent(id=uuid.uuid4(), user_id=user_id, amount=amount, currency=currency, expires_at=expires)
        uow.session.add(intent)
    vault = checksum(settings.vault_address)
    return DepositInstructions(
        intent_id=intent.id,
        amount=amount,
        currency=currency,
        expires_at=expires,
        chain_id=settings.chain_id,
        token_address=checksum(settings.token_address),
        vault_address=vault,
        amount_wei=str(wei),
        steps=[
            DepositStep(contract="token", call="approve(address,uint256)", args=[vault, str(wei)]),
            DepositStep(contract="vault", call="deposit(uint256)", args=[str(wei)]),
        ],
        confirmations=settings.chain_confirmations,
    )


class WrongWallet(DomainError):
    pass


def request_withdrawal(user_id: uuid.UUID, amount: Decimal, wallet_address: str) -> WithdrawalHold:
    """Hold the amount (debit + PENDING withdrawal in one transaction) and return the signed voucher
    the player submits to the vault."""
    from gbc.wallet.voucher import sign_voucher  # eth-account: only this route pays for its import

    settings = get_settings()
    deadline = datetime.now(UTC) + timedelta(seconds=settings.withdrawal_voucher_ttl_seconds)
    with unit_of_work() as uow:
        user = uow.session.get(User, user_id)
        if user is None:
            raise NotFound("user not found")
        if wallet_address.lower() != user.wallet_address:
            raise WrongWallet("walletAddress must be the signed-in wallet", field="walletAddress")
        withdrawal = Withdrawal(
            id=uuid.uuid4(),
            user_id=user_id,
            amount=amount,
            to_address=user.wallet_address,
            nonce=Decimal(secrets.randbits(64)),
            deadline=deadline,
            status=WithdrawalStatus.PENDING,
        )
        entry, _ = apply_balance_change(
            uow,
            user_id,
            TransactionType.WITHDRAWAL,
            -amount,
            f"withdrawal:{withdrawal.id}",
            {"nonce": str(withdrawal.nonce)},
        )
        voucher = sign_voucher(user.wallet_address, int(amount * WEI), int(withdrawal.nonce), int(deadline.timestamp()))
        withdrawal.signature = voucher["signature"]
        uow.session.add(withdrawal)
        enqueue_job(
            AuditLogPayload(
                userId=user_id,
                action="wallet.withdraw",
                resource="withdrawal",
                resourceId=str(withdrawal.id),
                newValues={"amount": money_str(amount), "nonce": str(int(withdrawal.nonce))},
            ),
            uow,
        )
        uow.session.flush()
        return WithdrawalHold(
            withdrawal=PendingWithdrawal.from_row(withdrawal),
            voucher=WithdrawalVoucher.model_validate(voucher),
            balance=entry.balance_after,
        )


def ledger_total(user_id: uuid.UUID) -> Decimal:
    """Sum of the user's ledger amounts (equals the balance: used by tests and audits)."""
    with unit_of_work() as uow:
        total = uow.session.scalar(
            select(func.coalesce(func.sum(Transaction.amount), 0)).where(Transaction.user_id == user_id)
        )
    return Decimal(total or 0)
