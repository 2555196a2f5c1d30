"""transactions.seq (the ledger's strict order) and created_at from clock_timestamp(); revoked_tokens
(sign-out)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows are numbered in (created_at, id) order: the best order they have (rows of one
    # transaction shared created_at). New rows take the identity in insert order.
    op.add_column("transactions", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE transactions t SET seq = o.n FROM "
        "(SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM transactions) o WHERE o.id = t.id"
    )
    op.alter_column("transactions", "seq", nullable=False)
    op.execute("ALTER TABLE transactions ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (START WITH 1)")
    op.execute(
        "SELECT setval(pg_get_serial_sequence('transactions', 'seq'), COALESCE(MAX(seq), 0) + 1, false) "
        "FROM transactions"
    )
    op.create_unique_constraint("uq_transactions_seq", "transactions", ["seq"])
    op.create_index("ix_transactions_user_seq", "transactions", ["user_id", "seq"])
    op.drop_index("ix_transactions_user_page", table_name="transactions")
    op.alter_column("transactions", "created_at", server_default=sa.text("clock_timestamp()"))

    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_revoked_tokens_expires", "revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_revoked_tokens_expires", table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    op.alter_column("transactions", "created_at", server_default=sa.text("now()"))
    op.create_index("ix_transactions_user_page", "transactions", ["user_id", "created_at", "id"])
    op.drop_index("ix_transactions_user_seq", table_name="transactions")
    op.drop_constraint("uq_transactions_seq", "transactions", type_="unique")
    op.drop_column("transactions", "seq")
