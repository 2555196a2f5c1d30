"""auth nonces and the store catalog

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Cosmetic items priced in GBC.
CATALOG = [
    ("card-back-classic", "Classic Card Back", "card_back", "The house's red and white lattice.", "0"),
    ("card-back-midnight", "Midnight Card Back", "card_back", "Deep blue with silver foil.", "25"),
    ("card-back-gold", "Gold Leaf Card Back", "card_back", "Gilded edges for high rollers.", "150"),
    ("table-green", "Green Felt Table", "table_theme", "The casino classic.", "0"),
    ("table-royal", "Royal Velvet Table", "table_theme", "Crimson velvet and brass rails.", "100"),
    ("table-neon", "Neon Nights Table", "table_theme", "Glowing edges after dark.", "250"),
    ("chips-standard", "Standard Chip Set", "chip_set", "Clay chips in five colours.", "0"),
    ("chips-ceramic", "Ceramic Chip Set", "chip_set", "Heavy ceramic with inlays.", "75"),
    ("chips-diamond", "Diamond Chip Set", "chip_set", "Crystal-clear chips that sparkle.", "500"),
]


def upgrade() -> None:
    op.create_table(
        "auth_nonces",
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_auth_nonces")),
    )
    op.create_index("ix_auth_nonces_expires", "auth_nonces", ["expires_at"], unique=False)
    store_items = sa.table(
        "store_items",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("category", sa.String),
        sa.column("description", sa.Text),
        sa.column("price", sa.Numeric(38, 18)),
    )
    op.bulk_insert(
        store_items,
        [{"id": i, "name": n, "category": c, "description": d, "price": Decimal(p)} for i, n, c, d, p in CATALOG],
    )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM store_items WHERE id IN :ids")
        .bindparams(sa.bindparam("ids", expanding=True))
        .params(ids=[item[0] for item in CATALOG])
    )
    op.drop_index("ix_auth_nonces_expires", table_name="auth_nonces")
    op.drop_table("auth_nonces")
