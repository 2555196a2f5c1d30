"""A player: the wallet address they sign in with, their profile and their balance, which only gbc.ledger changes."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gbc.data.models.base import ZERO, Base, _created_at, _uuid_pk


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_non_negative"),
        CheckConstraint("wallet_address = lower(wallet_address)", name="wallet_lowercase"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    wallet_address: Mapped[str] = mapped_column(String(42), unique=True)
    username: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"), default=dict)
    balance: Mapped[Decimal] = mapped_column(server_default=ZERO, default=Decimal(0))
    total_deposited: Mapped[Decimal] = mapped_column(server_default=ZERO, default=Decimal(0))
    total_withdrawn: Mapped[Decimal] = mapped_column(server_default=ZERO, default=Decimal(0))
    # Bumped by every balance change (gbc.ledger): orders write-throughs of the cached wallet summary.
    balance_version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    is_active: Mapped[bool] = mapped_column(server_default=text("true"), default=True)
    created_at: Mapped[datetime] = _created_at()
    last_login_at: Mapped[datetime | None]
