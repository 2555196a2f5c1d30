"""The data model (DESIGN.md section 3) as SQLAlchemy 2.x declarative models.

Money is NUMERIC(38,18) mapped to Decimal. Unique keys make replays harmless: a ledger row is unique
per (type, reference_id), a chain event per (chain_id, tx_hash, log_index), a job per id.
Alembic migrations in migrations/ must agree with these models (tests/integration/test_migrations.py).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MONEY = Numeric(38, 18, asdecimal=True)
ZERO = text("0")

# Deterministic constraint names so migrations and models compare cleanly.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        Decimal: MONEY,
        dict[str, Any]: JSONB,
        uuid.UUID: UUID(as_uuid=True),
        datetime: DateTime(timezone=True),
    }


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=text("gen_random_uuid()"), default=uuid.uuid4)


def _created_at() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def _pg_enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda members: [m.value for m in members])


class TransactionType(enum.StrEnum):
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    GAME_BET = "GAME_BET"
    GAME_WIN = "GAME_WIN"
    GAME_REFUND = "GAME_REFUND"
    FAUCET = "FAUCET"
    STORE_PURCHASE = "STORE_PURCHASE"
    ADMIN_ADJUSTMENT = "ADMIN_ADJUSTMENT"
    SIGNUP_BONUS = "SIGNUP_BONUS"
    # A held withdrawal whose voucher the chain can no longer accept, credited back.
    WITHDRAWAL_REFUND = "WITHDRAWAL_REFUND"
    # A chain credit whose block was orphaned by a reorg, taken back.
    DEPOSIT_REVERSAL = "DEPOSIT_REVERSAL"
    FAUCET_REVERSAL = "FAUCET_REVERSAL"


class TransactionStatus(enum.StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    REVERSED = "REVERSED"


class GameState(enum.StrEnum):
    PLAYER_TURN = "PLAYER_TURN"
    DEALER_TURN = "DEALER_TURN"
    ENDED = "ENDED"


class GameResult(enum.StrEnum):
    WIN = "WIN"
    LOSE = "LOSE"
    PUSH = "PUSH"
    BLACKJACK = "BLACKJACK"
    SURRENDER = "SURRENDER"


class WithdrawalStatus(enum.StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"


class DepositIntentStatus(enum.StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"


class ChainEventStatus(enum.StrEnum):
    SEEN = "seen"
    ENQUEUED = "enqueued"
    PROCESSED = "processed"
    ORPHANED = "orphaned"


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


class Game(Base):
    __tablename__ = "games"
    __table_args__ = (
        CheckConstraint("bet_amount > 0", name="bet_positive"),
        CheckConstraint("insurance_bet >= 0", name="insurance_non_negative"),
        # The history query: a user's ended games newest first, optionally by result.
        Index("ix_games_history", "user_id", "ended_at", "id", postgresql_where=text("ended_at IS NOT NULL")),
        Index(
            "ix_games_history_result",
            "user_id",
            "result",
            "ended_at",
            "id",
            postgresql_where=text("ended_at IS NOT NULL"),
        ),
        # The leaderboard: every game ended in a period.
        Index("ix_games_ended_at", "ended_at", postgresql_where=text("ended_at IS NOT NULL")),
        # At most one unfinished game per user.
        Index("uq_games_active_user", "user_id", unique=True, postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    state: Mapped[GameState] = mapped_column(_pg_enum(GameState, "game_state"))
    bet_amount: Mapped[Decimal]
    hands: Mapped[dict[str, Any]]
    dealer_hand: Mapped[dict[str, Any]]
    insurance_bet: Mapped[Decimal] = mapped_column(server_default=ZERO, default=Decimal(0))
    result: Mapped[GameResult | None] = mapped_column(_pg_enum(GameResult, "game_result"))
    win_amount: Mapped[Decimal] = mapped_column(server_default=ZERO, default=Decimal(0))
    net_profit: Mapped[Decimal] = mapped_column(server_default=ZERO, default=Decimal(0))
    fairness: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = _created_at()
    ended_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(server_default=text("1"), default=1)

    __mapper_args__ = {"version_id_col": version}


class GameMove(Base):
    __tablename__ = "game_moves"
    __table_args__ = (Index("ix_game_moves_game", "game_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    game_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    move: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = _created_at()


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


class StoreItem(Base):
    __tablename__ = "store_items"
    __table_args__ = (CheckConstraint("price >= 0", name="price_non_negative"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal]
    is_active: Mapped[bool] = mapped_column(server_default=text("true"), default=True)
    created_at: Mapped[datetime] = _created_at()


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("total >= 0", name="total_non_negative"),
        Index("ix_purchases_user", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    item_id: Mapped[str] = mapped_column(ForeignKey("store_items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal]
    total: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = _created_at()


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_user", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(128))
    old_values: Mapped[dict[str, Any] | None]
    new_values: Mapped[dict[str, Any] | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = _created_at()


class SystemConfig(Base):
    __tablename__ = "system_config"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]]
    description: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


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


class RevokedToken(Base):
    """A session token signed out before it expires (its jti), kept until it would have expired."""

    __tablename__ = "revoked_tokens"
    __table_args__ = (Index("ix_revoked_tokens_expires", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = _created_at()


class AuthNonce(Base):
    """A Sign-In with Ethereum nonce: issued by the server, used once, expiring."""

    __tablename__ = "auth_nonces"
    __table_args__ = (Index("ix_auth_nonces_expires", "expires_at"),)

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(42))
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OutboxJob(Base):
    """A job written in the transaction that caused it; sent to SQS after commit, then deleted."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_created", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    queue: Mapped[str] = mapped_column(String(16), server_default=text("'jobs'"), default="jobs")
    created_at: Mapped[datetime] = _created_at()
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)


class ProcessedJob(Base):
    """Jobs whose effect has committed; written in the effect's own transaction (idempotency)."""

    __tablename__ = "processed_jobs"

    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime] = _created_at()
