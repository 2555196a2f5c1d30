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

from gbc.cache import DROP, Keys, invalidate_after_commit, write_through_after_commit
from gbc.data.models import Transaction, TransactionStatus, TransactionType, User
from gbc.data.transaction import UnitOfWork
from gbc.errors import InsufficientBalance, NotFound
from gbc.money import money_str
from gbc.pagination import SequenceKeyset, insert_into_first_page

# Balance changes on the hot path update the cached wallet summary and first ledger pages in place
# (write-through). The others (chain credits, withdrawals, refunds, reversals, adjustments) may change
# more than the balance (pending withdrawals), so they invalidate the wallet family instead.
WRITE_THROUGH = {
    TransactionType.GAME_BET,
    TransactionType.GAME_WIN,
    TransactionType.GAME_REFUND,
    TransactionType.STORE_PURCHASE,
}
# Ledger pages newest first by the strict sequence; a row's view names it "sequence".
LEDGER_ORDER = SequenceKeyset(Transaction.seq, "sequence")


def entry_view(t: Transaction) -> dict[str, Any]:
    """A ledger row as the API shows it."""
    return {
        "id": str(t.id),
        "sequence": t.seq,
        "type": t.type.value,
        "amount": money_str(t.amount),
        "balanceBefore": money_str(t.balance_before),
        "balanceAfter": money_str(t.balance_after),
        "referenceId": t.reference_id,
        "status": t.status.value,
        "createdAt": t.created_at.isoformat(),
    }


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
    if type_ in WRITE_THROUGH:
        _write_through_after_commit(uow, user_id, entry, row.version, row.balance_after, row.deposited, row.withdrawn)
    else:
        invalidate_after_commit(uow, user_id, ("wallet",))  # balance, wallet summary, ledger pages
    return entry, True


def _write_through_after_commit(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    entry: Transaction,
    version: int,
    balance: Decimal,
    deposited: Decimal,
    withdrawn: Decimal,
) -> None:
    """After commit, once per transaction and user: the cached wallet summary gets the new balance and
    totals (if it is older than this version), the cached first ledger pages get the new rows."""
    pending: dict[uuid.UUID, dict[str, Any]] = uow.info.setdefault("wallet_write_through", {})
    state = pending.get(user_id)
    if state is None:
        state = pending[user_id] = {"entries": []}
        write_through_after_commit(
            uow,
            "wallet",
            user_id,
            [Keys.wallet_summary(user_id)],
            ["transactions"],
            lambda k, r, v: _patch(state, k, r, v),
        )
    state["entries"].append(entry_view(entry))
    state.update(version=version, balance=balance, deposited=deposited, withdrawn=withdrawn)


def _patch(state: dict[str, Any], kind: str, rest: str, value: Any) -> Any:
    if kind == "wallet_summary":
        if value["v"] >= state["version"]:
            return value  # a newer summary is already cached
        summary = {
            **value["summary"],
            "balance": money_str(state["balance"]),
            "totalDeposited": money_str(state["deposited"]),
            "totalWithdrawn": money_str(state["withdrawn"]),
        }
        return {"v": state["version"], "summary": summary}
    limit = int(rest.rsplit(":", 1)[1])  # a first ledger page: "{user}:start:{limit}"
    for item in state["entries"]:
        value = insert_into_first_page(value, "transactions", LEDGER_ORDER, item, limit)
        if value is None:
            return DROP
    return value


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
