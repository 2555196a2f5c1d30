"""The ledger's table: one row per balance change, unique per (type, reference_id) so a replayed change is refused,
and constrained so every row's arithmetic holds."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from gbc.data.models.base import Base, _pg_enum, _uuid_pk
from gbc.data.models.enums import TransactionStatus, TransactionType


class Transaction(Base):
    """The ledger: every balance change has exactly one row, written in the same transaction."""

    __tablename__ = "transactions"
    __table_args__ = (
        UniqueConstraint("type", "reference_id", name="uq_transactions_type_reference"),
        CheckConstraint("balance_after >= 0", name="balance_after_non_negative"),
        CheckConstraint("balance_after = balance_before + amount", name="balance_arithmetic"),
        Index("ix_transactions_user_seq", "user_id", "seq"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    # The ledger's strict order. A user's balance changes serialize on their users row (locked by the
    # UPDATE until commit), so within a user, seq order is commit order: each row's balance_before is
    # the balance_after of the row before it. (created_at alone ties within one transaction.)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    type: Mapped[TransactionType] = mapped_column(_pg_enum(TransactionType, "transaction_type"))
    # Signed: credits positive, debits negative, so balance_after = balance_before + amount.
    amount: Mapped[Decimal]
    balance_before: Mapped[Decimal]
    balance_after: Mapped[Decimal]
    reference_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[TransactionStatus] = mapped_column(
        _pg_enum(TransactionStatus, "transaction_status"), default=TransactionStatus.COMPLETED
    )
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata")
    # The statement's own clock, not the transaction's start: rows of one transaction differ.
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
