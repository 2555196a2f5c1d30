"""The one way a balance changes: the user's row and its ledger row, in the caller's transaction.

The user row is locked (SELECT ... FOR UPDATE) so concurrent changes for one user serialize, the
ledger row records balance before and after, and (type, reference_id) is unique: applying the same
credit twice finds the first and changes nothing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

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
    a reference already applied returns its row and False."""
    user = uow.session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound("user not found")
    if reference_id is not None:
        existing = find_entry(uow, type_, reference_id)
        if existing is not None:
            return existing, False
    before = user.balance
    after = before + amount
    if after < 0:
        raise InsufficientBalance("insufficient balance", balance=str(before), required=str(-amount))
    user.balance = after
    if type_ is TransactionType.DEPOSIT:
        user.total_deposited += amount
    elif type_ is TransactionType.WITHDRAWAL:
        user.total_withdrawn -= amount
    entry = Transaction(
        user_id=user_id,
        type=type_,
        amount=amount,
        balance_before=before,
        balance_after=after,
        reference_id=reference_id,
        status=TransactionStatus.COMPLETED,
        metadata_=metadata,
    )
    uow.session.add(entry)
    uow.session.flush()
    return entry, True
