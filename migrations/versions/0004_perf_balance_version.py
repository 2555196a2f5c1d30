"""users.balance_version: a counter bumped by every balance change (orders the cached wallet summary)

Revision ID: 0004_perf
Revises: 0005
Create Date: 2026-11-27

Numbered 0004 for the performance work but applied after 0005 (the chain poller), which already
revises 0003: one line of migrations, one head.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_perf"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column("users", sa.Column("balance_version", sa.BigInteger(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    op.drop_column("users", "balance_version")
