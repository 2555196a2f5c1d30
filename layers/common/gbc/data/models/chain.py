"""What the chain poller saw: contract logs, unique per (chain_id, tx_hash, log_index) so a re-poll stores nothing
twice, and the block hashes it relied on, to notice a reorg."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from gbc.data.models.base import Base, _created_at, _pg_enum
from gbc.data.models.enums import ChainEventStatus


class ChainEvent(Base):
    __tablename__ = "chain_events"
    __table_args__ = (
        UniqueConstraint("chain_id", "tx_hash", "log_index", name="uq_chain_events_log"),
        Index("ix_chain_events_block", "chain_id", "block_number"),
        Index(
            "ix_chain_events_withdraw_nonce", text("(args ->> 'nonce')"), postgresql_where=text("event = 'Withdraw'")
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    contract: Mapped[str] = mapped_column(String(42))
    event: Mapped[str] = mapped_column(String(64))
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    args: Mapped[dict[str, Any]]
    status: Mapped[ChainEventStatus] = mapped_column(
        _pg_enum(ChainEventStatus, "chain_event_status"), default=ChainEventStatus.SEEN
    )
    # How many times the log was stored again after a reorg orphaned it: part of its credit's
    # identity, so a fork that flips away and back credits it again after the reversal.
    generation: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    created_at: Mapped[datetime] = _created_at()


class ChainBlock(Base):
    """A block the poller relied on (a range's last block, or one with our events): its hash is what a
    later poll compares with the chain to detect a reorg."""

    __tablename__ = "chain_blocks"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(66))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _created_at()
