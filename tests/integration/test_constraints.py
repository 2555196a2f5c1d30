"""The database itself refuses what must never happen: negative balances, a replayed credit,
a chain log stored twice, a wallet in mixed case.

pg8000 reports unique violations as IntegrityError but CHECK violations as ProgrammingError, so the
CHECK tests match DBAPIError and the constraint's name."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, IntegrityError

from gbc.data.models import ChainEvent, Transaction, TransactionType, User
from gbc.data.transaction import unit_of_work
from tests.support.factories import make_user


def test_balance_cannot_go_negative(db):
    user = make_user(balance=Decimal("5"))
    with pytest.raises(DBAPIError, match="balance_non_negative"), unit_of_work() as uow:
        uow.session.execute(
            update(User).where(User.id == user.id).values(balance=User.balance - Decimal("5.000000000000000001"))
        )


def test_money_keeps_18_decimals(db):
    amount = Decimal("123456789012345678.123456789012345678")
    user = make_user(balance=amount)
    with unit_of_work() as uow:
        assert uow.session.get(User, user.id).balance == amount


def _ledger_row(user_id: uuid.UUID, reference: str) -> Transaction:
    return Transaction(
        user_id=user_id,
        type=TransactionType.DEPOSIT,
        amount=Decimal("10"),
        balance_before=Decimal("0"),
        balance_after=Decimal("10"),
        reference_id=reference,
    )


def test_a_ledger_reference_is_credited_once(db):
    user = make_user()
    with unit_of_work() as uow:
        uow.session.add(_ledger_row(user.id, "0xabc:0"))
    with pytest.raises(IntegrityError, match="uq_transactions_type_reference"), unit_of_work() as uow:
        uow.session.add(_ledger_row(user.id, "0xabc:0"))


def test_ledger_row_arithmetic_is_checked(db):
    user = make_user()
    row = _ledger_row(user.id, "0xdef:1")
    row.balance_after = Decimal("11")
    with pytest.raises(DBAPIError, match="balance_arithmetic"), unit_of_work() as uow:
        uow.session.add(row)


def test_a_chain_log_is_stored_once(db):
    def event() -> ChainEvent:
        return ChainEvent(
            chain_id=31337,
            tx_hash="0x" + "ab" * 32,
            log_index=0,
            contract="0x" + "11" * 20,
            event="Deposit",
            block_number=7,
            block_hash="0x" + "cd" * 32,
            args={"amount": "1"},
        )

    with unit_of_work() as uow:
        uow.session.add(event())
    with pytest.raises(IntegrityError, match="uq_chain_events_log"), unit_of_work() as uow:
        uow.session.add(event())


def test_wallet_addresses_are_stored_lowercase(db):
    with pytest.raises(DBAPIError, match="wallet_lowercase"), unit_of_work() as uow:
        uow.session.add(User(wallet_address="0x" + "AB" * 20))
