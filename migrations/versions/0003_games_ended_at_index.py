"""index games by ended_at for the leaderboard

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_games_ended_at", "games", ["ended_at"], unique=False, postgresql_where=sa.text("ended_at IS NOT NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_games_ended_at", table_name="games", postgresql_where=sa.text("ended_at IS NOT NULL"))
