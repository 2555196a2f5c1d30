"""The one way a balance changes: the user's row and its ledger row, in the caller's transaction.

The balance changes in one conditional UPDATE (row-locked until commit, so one user's changes
serialize), the ledger row records balance before and after, and (type, reference_id) is unique:
applying the same credit twice finds the first and changes nothing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, insert, literal, select, true, update

from gbc.data.models import Transaction, TransactionStatus, TransactionType, User
from gbc.data.transaction import UnitOfWork
from gbc.errors import InsufficientBalance, NotFound
from gbc.events import BalanceChanged
from gbc.money import money_str
from gbc.views import Money, Timestamp, View


class LedgerEntry(View):
    """A ledger row as the API shows it (GET /api/transactions, and what a balance change carries
    to the cached first pages)."""

    id: uuid.UUID
    sequence: int
    type: TransactionType
    amount: Money
    balance_before: Money
    balance_after: Money
    reference_id: str | None
    status: TransactionStatus
    created_at: Timestamp

    @classmethod
    def from_row(cls, t: Transaction) -> LedgerEntry:
        return cls(
            id=t.id,
            sequence=t.seq,
            type=t.type,
            amount=t.amount,
            balance_before=t.balance_before,
            balance_after=t.balance_after,
            reference_id=t.reference_id,
            status=t.status,
            created_at=t.created_at,
        )


def find_entry(uow: UnitOfWork, type_: TransactionType, reference_id: str) -> Transaction | None:
    return uow.session.scalar(
        select(Transaction).where(Transaction.type == type_, Transaction.reference_id == reference_id)
    )


def apply_balance_change(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    type_: TransactionType,
    amount: Decimal,
    reference_id: str | None,
    metadata: dict[str, Any] | None = None,
) -> tuple[Transaction, bool]:
    """Credit (amount > 0) or debit (amount < 0) a user. Returns (ledger row, applied now?);
    a reference already applied returns its row and False.

    One statement does it all: a conditional UPDATE ... RETURNING changes the balance in the database
    (row-locked until commit, so one user's changes serialize; never a stale read; never an overdraft)
    unless the reference is already in the ledger, and the ledger row is inserted from what it returned.
    Only when nothing happened does a second query find out why."""
    totals: dict[str, Any] = {}
    if type_ in (TransactionType.DEPOSIT, TransactionType.DEPOSIT_REVERSAL):
        totals["total_deposited"] = User.total_deposited + amount
    elif type_ in (TransactionType.WITHDRAWAL, TransactionType.WITHDRAWAL_REFUND):
        totals["total_withdrawn"] = User.total_withdrawn - amount
    condition = [User.id == user_id, User.balance + amount >= 0]
    if reference_id is not None:
        condition.append(~exists().where(Transaction.type == type_, Transaction.reference_id == reference_id))
    changed = (
        update(User)
        .where(*condition)
        .values(balance=User.balance + amount, balance_version=User.balance_version + 1, **totals)
        .returning(
            User.balance.label("after"),
            User.balance_version.label("version"),
            User.total_deposited.label("deposited"),
            User.total_withdrawn.label("withdrawn"),
        )
        .cte("changed")
    )
    entry_id = uuid.uuid4()
    inserted = (
        insert(Transaction)
        .from_select(
            [
                "id",
                "user_id",
                "type",
                "amount",
                "balance_before",
                "balance_after",
                "reference_id",
                "status",
                "metadata",
            ],
            select(
                literal(entry_id, Transaction.id.type),
                literal(user_id, Transaction.user_id.type),
                literal(type_, Transaction.type.type),
                literal(amount, Transaction.amount.type),
                changed.c.after - literal(amount, Transaction.amount.type),
                changed.c.after,
                literal(reference_id, Transaction.reference_id.type),
                literal(TransactionStatus.COMPLETED, Transaction.status.type),
                literal(metadata, Transaction.metadata_.type),
            ),
        )
        .returning(Transaction.balance_after, Transaction.created_at, Transaction.seq)
        .cte("inserted")
    )
    row = uow.session.execute(
        select(
            inserted.c.balance_after,
            inserted.c.created_at,
            inserted.c.seq,
            changed.c.version,
            changed.c.deposited,
            changed.c.withdrawn,
        ).select_from(inserted.join(changed, true()))
    ).first()
    if row is None:
        return _why_not(uow, user_id, type_, amount, reference_id)
    entry = Transaction(
        id=entry_id,
        user_id=user_id,
        type=type_,
        amount=amount,
        balance_before=row.balance_after - amount,
        balance_after=row.balance_after,
        reference_id=reference_id,
        status=TransactionStatus.COMPLETED,
        metadata_=metadata,
        created_at=row.created_at,
        seq=row.seq,
    )
    _sync_user(uow, user_id)
    uow.record(
        BalanceChanged(
            user_id=user_id,
            type=type_.value,
            entry=LedgerEntry.from_row(entry).to_json(),
            version=row.version,
            balance=row.balance_after,
            total_deposited=row.deposited,
            total_withdrawn=row.withdrawn,
        )
    )
    return entry, True


def _why_not(
    uow: UnitOfWork, user_id: uuid.UUID, type_: TransactionType, amount: Decimal, reference_id: str | None
) -> tuple[Transaction, bool]:
    if reference_id is not None:
        existing = find_entry(uow, type_, reference_id)
        if existing is not None:
            return existing, False
    balance = uow.session.scalar(select(User.balance).where(User.id == user_id))
    if balance is None:
        raise NotFound("user not found")
    raise InsufficientBalance("insufficient balance", balance=money_str(balance), required=money_str(-amount))


def _sync_user(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """A User already loaded in this session sees its new balance (the UPDATE bypassed the ORM)."""
    user = uow.session.identity_map.get(uow.session.identity_key(User, user_id))
    if user is not None:
        uow.session.expire(user, ["balance", "total_deposited", "total_withdrawn"])
