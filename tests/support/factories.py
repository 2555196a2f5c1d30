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
