"""The jobs' two tables: the outbox (a job written in the transaction that caused it, sent after commit, kept until
it is processed) and the processed jobs (written in the effect's transaction, so a redelivered job is a no-op)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gbc.data.models.base import Base, _created_at


class OutboxJob(Base):
    """A job written in the transaction that caused it; sent to SQS after commit (sent_at), deleted in the
    transaction that processes it. A row sent long ago and still here was lost on the way: sent again."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_created", "created_at"),
        Index("ix_outbox_sent", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    queue: Mapped[str] = mapped_column(String(16), server_default=text("'jobs'"), default="jobs")
    created_at: Mapped[datetime] = _created_at()
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProcessedJob(Base):
    """Jobs whose effect has committed; written in the effect's own transaction (idempotency)."""

    __tablename__ = "processed_jobs"

    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime] = _created_at()
