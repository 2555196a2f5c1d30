"""The one way a balance changes: the user's row and its ledger row, in the caller's transaction.

The balance changes in one conditional UPDATE (row-locked until commit, so one user's changes
serialize), the ledger row records balance before and after, and (type, reference_id) is unique:
applying the same credit twice finds the first and changes nothing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, insert, select, true, update

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
    *,
    carrying: tuple[Any, dict[str, Any]] | None = None,
) -> tuple[Transaction, bool]:
    """Credit (amount > 0) or debit (amount < 0) a user. Returns (ledger row, applied now?);
    a reference already applied returns its row and False.

    One statement does it all: a conditional UPDATE ... RETURNING changes the balance in the database
    (row-locked until commit, so one user's changes serialize; never a stale read; never an overdraft)
    unless the reference is already in the ledger, and the ledger row is inserted from what it returned.
    Only when nothing happened does a second query find out why.

    `carrying`: a data-modifying statement of the same transaction and its parameters (a game's
    step), sent in the same statement as a CTE: PostgreSQL runs it whatever the change does, and a
    change that raises here rolls the transaction back with it."""
    entry_id = uuid.uuid4()
    statement = _change_statement(_TOTAL_OF.get(type_), reference_id is not None)
    carried: dict[str, Any] = {}
    if carrying is not None:
        statement, carried = _carrying(statement, carrying[0]), carrying[1]
    row = uow.session.execute(
        statement,
        {
            **carried,
            "change_user_id": user_id,
            "change_amount": amount,
            "change_entry_id": entry_id,
            "change_type": type_,
            "change_reference_id": reference_id,
            "change_status": TransactionStatus.COMPLETED,
            "change_metadata": metadata,
        },
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


# The lifetime totals a type also moves (a withdrawal's amount is negative: the total grows).
_TOTAL_OF = {
    TransactionType.DEPOSIT: "total_deposited",
    TransactionType.DEPOSIT_REVERSAL: "total_deposited",
    TransactionType.WITHDRAWAL: "total_withdrawn",
    TransactionType.WITHDRAWAL_REFUND: "total_withdrawn",
}


_USERS = cast(Table, User.__table__)
_LEDGER = cast(Table, Transaction.__table__)
# Change statements with another statement riding along, built once per pair (the pair is the key,
# not its ids: a key holds both alive, so an id is never reused for another statement).
_CARRIERS: dict[tuple[Any, Any], Any] = {}


def _carrying(change: Any, other: Any) -> Any:
    combined = _CARRIERS.get((change, other))
    if combined is None:
        combined = _CARRIERS[(change, other)] = change.add_cte(other.cte("carried"))
    return combined


@lru_cache(maxsize=8)
def _change_statement(total: str | None, has_reference: bool) -> Any:
    """The balance change as one statement, built once per shape with bound parameters: building
    and cache-keying it on every call cost more CPU than the round trip's own work. Written on the
    tables, not the mapped classes, so that it runs as Core (no ORM compile step or result wrapping)."""
    users, ledger = _USERS.c, _LEDGER.c
    # Parameters are named change_*: an UPDATE takes any execution parameter named like one of its
    # table's columns into its SET clause, that of a statement riding along (carrying) included.
    amount = bindparam("change_amount", type_=ledger.amount.type)
    totals: dict[str, Any] = {}
    if total == "total_deposited":
        totals["total_deposited"] = users.total_deposited + amount
    elif total == "total_withdrawn":
        totals["total_withdrawn"] = users.total_withdrawn - amount
    condition = [users.id == bindparam("change_user_id", type_=users.id.type), users.balance + amount >= 0]
    reference = bindparam("change_reference_id", type_=ledger.reference_id.type)
    kind = bindparam("change_type", type_=ledger.type.type)
    if has_reference:
        condition.append(~exists().where(ledger.type == kind, ledger.reference_id == reference))
    changed = (
        update(_USERS)
        .where(*condition)
        .values(balance=users.balance + amount, balance_version=users.balance_version + 1, **totals)
        .returning(
            users.balance.label("after"),
            users.balance_version.label("version"),
            users.total_deposited.label("deposited"),
            users.total_withdrawn.label("withdrawn"),
        )
        .cte("changed")
    )
    inserted = (
        insert(_LEDGER)
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
                bindparam("change_entry_id", type_=ledger.id.type),
                bindparam("change_user_id", type_=ledger.user_id.type),
                kind,
                amount,
                changed.c.after - amount,
                changed.c.after,
                reference,
                bindparam("change_status", type_=ledger.status.type),
                bindparam("change_metadata", type_=ledger.metadata.type),
            ),
        )
        .returning(ledger.balance_after, ledger.created_at, ledger.seq)
        .cte("inserted")
    )
    return select(
        inserted.c.balance_after,
        inserted.c.created_at,
        inserted.c.seq,
        changed.c.version,
        changed.c.deposited,
        changed.c.withdrawn,
    ).select_from(inserted.join(changed, true()))


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
