"""Money leaving and announced: a withdrawal's signed voucher (unique nonce, deadline) until the chain redeems it
or it expires, and a deposit intent until its deposit arrives."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from gbc.data.models.base import Base, _created_at, _pg_enum, _uuid_pk
from gbc.data.models.enums import DepositIntentStatus, WithdrawalStatus


class Withdrawal(Base):
    __tablename__ = "withdrawals"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("nonce", name="uq_withdrawals_nonce"),
        Index("ix_withdrawals_user_status", "user_id", "status"),
        Index("ix_withdrawals_pending_deadline", "deadline", postgresql_where=text("status = 'PENDING'")),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal]
    to_address: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[Decimal] = mapped_column(Numeric(78, 0))
    deadline: Mapped[datetime]
    signature: Mapped[str | None] = mapped_column(String(132))
    status: Mapped[WithdrawalStatus] = mapped_column(
        _pg_enum(WithdrawalStatus, "withdrawal_status"), default=WithdrawalStatus.PENDING
    )
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    created_at: Mapped[datetime] = _created_at()
    completed_at: Mapped[datetime | None]


class DepositIntent(Base):
    __tablename__ = "deposit_intents"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_deposit_intents_user", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(16))
    status: Mapped[DepositIntentStatus] = mapped_column(
        _pg_enum(DepositIntentStatus, "deposit_intent_status"), default=DepositIntentStatus.PENDING
    )
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = _created_at()
