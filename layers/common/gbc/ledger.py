"""The one way a balance changes: the user's row and its ledger row, in the caller's transaction.

The balance changes in one conditional UPDATE (row-locked until commit, so one user's changes
serialize), the ledger row records balance before and after, and (type, reference_id) is unique:
applying the same credit twice finds the first and changes nothing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from gbc.data.models import Transaction, TransactionStatus, TransactionType, User
from gbc.data.transaction import UnitOfWork
from gbc.errors import InsufficientBalance, NotFound


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

    One conditional UPDATE ... RETURNING does the arithmetic in the database: it locks the row until
    commit (so a user's changes serialize), never reads a stale balance, and refuses an overdraft."""
    if reference_id is not None:
        existing = find_entry(uow, type_, reference_id)
        if existing is not None:
            return existing, False
    totals: dict[str, Any] = {}
    if type_ is TransactionType.DEPOSIT:
        totals["total_deposited"] = User.total_deposited + amount
    elif type_ is TransactionType.WITHDRAWAL:
        totals["total_withdrawn"] = User.total_withdrawn - amount
    after = uow.session.execute(
        update(User)
        .where(User.id == user_id, User.balance + amount >= 0)
        .values(balance=User.balance + amount, **totals)
        .returning(User.balance)
    ).scalar()
    if after is None:
        balance = uow.session.scalar(select(User.balance).where(User.id == user_id))
        if balance is None:
            raise NotFound("user not found")
        raise InsufficientBalance("insufficient balance", balance=str(balance), required=str(-amount))
    entry = Transaction(
        user_id=user_id,
        type=type_,
        amount=amount,
        balance_before=after - amount,
        balance_after=after,
        reference_id=reference_id,
        status=TransactionStatus.COMPLETED,
        metadata_=metadata,
    )
    uow.session.add(entry)
    uow.session.flush()
    return entry, True
