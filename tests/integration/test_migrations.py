"""The Alembic migrations and the SQLAlchemy models describe the same schema, and both directions work."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from devstack import migrate
from gbc.data.models import Base


def _fresh_engine(admin_url: str, name: str):
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return create_engine(make_url(admin_url).set(database=name))


def test_upgrade_from_empty_matches_models_and_downgrade_removes_everything(postgres_admin_url):
    engine = _fresh_engine(postgres_admin_url, "gbc_test_migrations")
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"

        migrate.downgrade(engine)
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
            enums = conn.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'")).scalars().all()
            assert enums == []

        migrate.upgrade(engine)  # and up again, from what downgrade left
        with engine.connect() as conn:
            assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_downgrade_below_the_chain_types_keeps_their_ledger_rows_as_adjustments(postgres_admin_url):
    engine = _fresh_engine(postgres_admin_url, "gbc_test_migrations_0005")
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            user = conn.execute(
                text("INSERT INTO users (wallet_address, balance) VALUES (:w, 5) RETURNING id"), {"w": "0x" + "1" * 40}
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO transactions (user_id, type, amount, balance_before, balance_after, reference_id,"
                    " status) VALUES (:u, 'WITHDRAWAL_REFUND', 5, 0, 5, 'withdrawal-refund:x', 'COMPLETED')"
                ),
                {"u": user},
            )
        migrate.downgrade(engine, "0003")
        with engine.connect() as conn:
            row = conn.execute(text("SELECT type, amount, metadata FROM transactions")).one()
        assert (row.type, row.amount, row.metadata) == ("ADMIN_ADJUSTMENT", 5, {"downgradedFrom": "WITHDRAWAL_REFUND"})
        migrate.upgrade(engine)
    finally:
        engine.dispose()
