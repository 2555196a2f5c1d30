"""The engine's connections: a connection that idled is pinged before use and replaced when the
server dropped it (a frozen Lambda container waking up); one in steady use costs no ping; pg8000's
placeholder rewrite is remembered, with exactly pg8000's results; a statement is one exchange with
the server, and its errors are what pg8000 raised before (gbc.data.driver)."""

from __future__ import annotations

import pg8000.legacy
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gbc.data import database, driver
from gbc.data.transaction import unit_of_work


def test_a_connection_in_steady_use_is_not_pinged(db):
    engine = database.get_engine()
    with unit_of_work() as uow:
        uow.session.execute(text("SELECT 1 AS warm"))
    pings: list[str] = []
    original = pg8000.legacy.Cursor.execute

    def spy(self, operation, *args, **kwargs):
        pings.append(operation)
        return original(self, operation, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pg8000.legacy.Cursor, "execute", spy)
        for _ in range(3):
            with unit_of_work() as uow:
                uow.session.execute(text("SELECT 2 AS busy"))
    assert "SELECT 1" not in pings, "no ping for a connection that was just used"
    assert engine.pool.checkedout() == 0


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(db, monkeypatch):
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)
    with unit_of_work() as uow:
        victim = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    # The server drops it while it idles in the pool (RDS Proxy's idle timeout, a failover).
    killer = create_engine(database.get_engine().url, poolclass=NullPool)
    with killer.connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim}).scalar_one()
    killer.dispose()
    with unit_of_work() as uow:  # pinged at checkout, found dead, replaced: no error reaches us
        assert uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one() != victim


@pytest.mark.parametrize(
    "query",
    [
        "SELECT %s, %s",
        "SELECT '%%s' || %s",
        "SELECT 'it''s %s' , %s -- a comment %s\n, %s",
        'SELECT "odd%%name" FROM t WHERE x = %s',
        "SELECT $$ %s $$, E'\\' %s', %s",
        "SELECT 100 %% 7, %s",
    ],
)
def test_the_remembered_rewrite_is_pg8000s(query):
    driver.tune_pg8000()
    from pg8000 import dbapi

    args = ("a", "b", "c", "d")
    assert pg8000.legacy.convert_paramstyle("format", query, args) == dbapi.convert_paramstyle("format", query, args)
    assert pg8000.legacy.convert_paramstyle is not dbapi.convert_paramstyle


def _exchanges(monkeypatch) -> list[int]:
    """Counts pg8000's flushes of its socket: each one ends what it sends before waiting for answers."""
    import pg8000.core

    flushes: list[int] = []
    real = pg8000.core._flush
    monkeypatch.setattr(pg8000.core, "_flush", lambda sock: flushes.append(1) or real(sock))
    return flushes


def test_a_statement_is_one_exchange_with_the_server(db, monkeypatch):
    database.get_engine()  # tunes pg8000
    with unit_of_work() as uow:
        uow.session.execute(text("SELECT 1"))  # BEGIN is behind us
        flushes = _exchanges(monkeypatch)
        rows = uow.session.execute(
            text("SELECT g, g * 2 AS twice, :word || g AS label FROM generate_series(1, :n) AS g"),
            {"n": 3, "word": "n"},
        ).all()
        assert len(flushes) == 1, "Parse, Describe, Bind, Execute and one Sync"
    assert [tuple(r) for r in rows] == [(1, 2, "n1"), (2, 4, "n2"), (3, 6, "n3")]


@pytest.mark.parametrize(
    ("statement", "params", "code"),
    [
        ("SELEC 1", {}, "42601"),  # Parse fails
        ("SELECT CAST(:v AS uuid)", {"v": "not-a-uuid"}, "22P02"),  # Bind/Execute fails
        ("SELECT 1 / :zero", {"zero": 0}, "22012"),  # Execute fails
    ],
)
def test_a_failing_statement_raises_the_servers_error_and_the_connection_goes_on(db, statement, params, code):
    from sqlalchemy.exc import DBAPIError

    from gbc.data.outage import sqlstate

    database.get_engine()
    with pytest.raises(DBAPIError) as raised, unit_of_work() as uow:
        uow.session.execute(text(statement), params)
    assert sqlstate(raised.value.orig) == code
    with unit_of_work() as uow:  # the same pooled connection, in sync with the server
        assert uow.session.execute(text("SELECT :x + 1"), {"x": 41}).scalar_one() == 42
