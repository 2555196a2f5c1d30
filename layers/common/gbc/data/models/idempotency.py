"""Idempotency in the database: a keyed request's row is written in the transaction of its effect, so the effect and
the record that it happened commit (or vanish) together."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gbc.data.models.base import Base, _created_at


class IdempotencyKey(Base):
    """A state-changing request a client sent with an Idempotency-Key: written in the same transaction
    as its effect, with its answer, so a retry gets that answer instead of a second effect."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)

    # No foreign key: a key's row would take FOR KEY SHARE on the user's row, so two keyed requests
    # of one user that update it (PATCH /api/user) deadlocked. The id comes from a verified session.
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = _created_at()
