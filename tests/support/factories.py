"""Rows the tests need, written through the real models."""

from __future__ import annotations

import secrets
from decimal import Decimal

from gbc.data.models import User
from gbc.data.transaction import unit_of_work


def make_user(balance: Decimal = Decimal(0), **fields: object) -> User:
    with unit_of_work() as uow:
        user = User(wallet_address="0x" + secrets.token_hex(20), balance=balance, **fields)
        uow.session.add(user)
    return user


def make_funded_user(amount: str = "100", **fields: object) -> User:
    """A user whose balance comes from a ledger row, so the ledger sums to the balance."""
    from gbc.data.models import TransactionType
    from gbc.ledger import apply_balance_change

    user = make_user(**fields)
    with unit_of_work() as uow:
        apply_balance_change(uow, user.id, TransactionType.ADMIN_ADJUSTMENT, Decimal(amount), f"seed:{user.id}")
    return user
