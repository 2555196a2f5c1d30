"""The data model (DESIGN.md section 3) as SQLAlchemy 2.x declarative models, one module per concern.

Money is NUMERIC(38,18) mapped to Decimal. Unique keys make replays harmless: a ledger row is unique
per (type, reference_id), a chain event per (chain_id, tx_hash, log_index), a job per id.
Importing this package registers every table on Base.metadata (what Alembic compares); the Alembic
migrations in migrations/ must agree with these models (tests/integration/test_migrations.py).
"""

from gbc.data.models.auth import AuthNonce, RevokedToken
from gbc.data.models.base import MONEY, NAMING, ZERO, Base
from gbc.data.models.chain import ChainBlock, ChainEvent
from gbc.data.models.enums import (
    ChainEventStatus,
    DepositIntentStatus,
    GameResult,
    GameState,
    TransactionStatus,
    TransactionType,
    WithdrawalStatus,
)
from gbc.data.models.games import Game, GameMove
from gbc.data.models.idempotency import IdempotencyKey
from gbc.data.models.jobs import OutboxJob, ProcessedJob
from gbc.data.models.ledger import Transaction
from gbc.data.models.store import Purchase, StoreItem
from gbc.data.models.system import AuditLog, SystemConfig
from gbc.data.models.users import User
from gbc.data.models.wallet import DepositIntent, Withdrawal

__all__ = [
    "MONEY",
    "NAMING",
    "ZERO",
    "AuditLog",
    "AuthNonce",
    "Base",
    "ChainBlock",
    "ChainEvent",
    "ChainEventStatus",
    "DepositIntent",
    "DepositIntentStatus",
    "Game",
    "GameMove",
    "GameResult",
    "GameState",
    "IdempotencyKey",
    "OutboxJob",
    "ProcessedJob",
    "Purchase",
    "RevokedToken",
    "StoreItem",
    "SystemConfig",
    "Transaction",
    "TransactionStatus",
    "TransactionType",
    "User",
    "Withdrawal",
    "WithdrawalStatus",
]
