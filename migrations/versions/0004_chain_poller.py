"""chain poller: block hashes for reorg detection, event generations, refund and reversal ledger types

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TYPES = (
    "DEPOSIT",
    "WITHDRAWAL",
    "GAME_BET",
    "GAME_WIN",
    "GAME_REFUND",
    "FAUCET",
    "STORE_PURCHASE",
    "ADMIN_ADJUSTMENT",
    "SIGNUP_BONUS",
)
NEW_TYPES = ("WITHDRAWAL_REFUND", "DEPOSIT_REVERSAL", "FAUCET_REVERSAL")
WITHDRAW_NONCE = sa.text("(args ->> 'nonce')")


def upgrade() -> None:
    for value in NEW_TYPES:
        op.execute(f"ALTER TYPE transaction_type ADD VALUE IF NOT EXISTS '{value}'")
    op.create_table(
        "chain_blocks",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "number", name=op.f("pk_chain_blocks")),
    )
    op.add_column("chain_events", sa.Column("generation", sa.Integer(), server_default=sa.text("0"), nullable=False))
    # The refund of an expired voucher asks "did the vault pay this nonce?" of the stored events.
    op.create_index(
        "ix_chain_events_withdraw_nonce",
        "chain_events",
        [WITHDRAW_NONCE],
        postgresql_where=sa.text("event = 'Withdraw'"),
    )


def downgrade() -> None:
    op.drop_index("ix_chain_events_withdraw_nonce", table_name="chain_events")
    op.drop_column("chain_events", "generation")
    op.drop_table("chain_blocks")
    # PostgreSQL cannot drop an enum value: rebuild the type without the new ones. Their ledger rows
    # stay (the balances include them) as ADMIN_ADJUSTMENT, their old type kept in the metadata.
    op.execute(
        sa.text(
            "UPDATE transactions SET metadata = coalesce(metadata, '{}'::jsonb)"
            " || jsonb_build_object('downgradedFrom', type::text) WHERE type::text = ANY(:new)"
        ).bindparams(new=list(NEW_TYPES))
    )
    op.execute("ALTER TYPE transaction_type RENAME TO transaction_type_old")
    sa.Enum(*OLD_TYPES, name="transaction_type").create(op.get_bind())
    op.execute(
        "ALTER TABLE transactions ALTER COLUMN type TYPE transaction_type USING (CASE"
        " WHEN metadata ->> 'downgradedFrom' IS NOT NULL THEN 'ADMIN_ADJUSTMENT' ELSE type::text END)::transaction_type"
    )
    op.execute("DROP TYPE transaction_type_old")
