"""The engine's connections: a connection that idled is pinged before use and replaced when the
server dropped it (a frozen Lambda container waking up); one in steady use costs no ping; pg8000's
placeholder rewrite is remembered, with exactly pg8000's results; a statement is one exchange with
the server, BEGIN rides with a transaction's first statement, and errors are what pg8000 raised
before (gbc.data.driver)."""

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
    "first",
    [
        ("SELECT set_config('gbc.probe', :v, true)", {"v": "in"}),  # with parameters: the extended protocol
        ("SELECT set_config('gbc.probe', 'in', true)", {}),  # none: pg8000's simple query
    ],
)
def test_begin_goes_out_with_the_transactions_first_statement(db, monkeypatch, first):
    database.get_engine()
    flushes = _exchanges(monkeypatch)
    with unit_of_work() as uow:
        uow.session.execute(text(first[0]), first[1])
        assert len(flushes) == 1, "BEGIN and the first statement in one write"
        # set_config(..., true) lasts to the transaction's end: the statements share one transaction
        assert uow.session.execute(text("SELECT current_setting('gbc.probe', true)")).scalar_one() == "in"
    assert len(flushes) == 3, "BEGIN + first statement, the second statement, COMMIT"
    with unit_of_work() as uow:
        assert uow.session.execute(text("SELECT current_setting('gbc.probe', true)")).scalar_one() in ("", None)


class _Unsendable:
    def __str__(self) -> str:
        raise ValueError("no text form")


def test_a_statement_that_fails_before_it_is_sent_leaves_no_begin_behind(db):
    """pg8000 turns the parameters into bytes before anything is written; a value it cannot turn
    fails there, and the held-back BEGIN is dropped with it: the connection, put in autocommit next,
    runs its statements outside any transaction. (A BEGIN left over would have opened one, as
    pg8000's own BEGIN, sent alone ahead of the statement, did.)"""
    database.get_engine()
    raw = database.get_engine().raw_connection()
    try:
        connection = raw.driver_connection
        cursor = connection.cursor()
        with pytest.raises(ValueError, match="no text form"):
            cursor.execute("SELECT %s", (_Unsendable(),))
        connection.autocommit = True
        cursor.execute("SELECT %s::int + 1", (1,))
        assert cursor.fetchone() == [2]
        cursor.execute("SELECT %s", ("still outside",))  # a second statement: no transaction to be in
        assert connection._transaction_status == b"I", "idle: no transaction is open"
    finally:
        raw.invalidate()  # its autocommit mode stays out of the pool


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


def _secret_engine(monkeypatch, secret_arn: str):
    """An engine as in AWS: DB_HOST and a Secrets Manager secret (moto), on the test database."""
    from sqlalchemy.engine import make_url

    from gbc.settings import Settings, get_settings

    url = make_url(str(database.get_engine().url))
    for name, value in {
        "DATABASE_URL": "",
        "DB_HOST": url.host or "127.0.0.1",
        "DB_PORT": str(url.port or 5432),
        "DB_NAME": url.database,
        "DB_USER": url.username,
        "DB_SSL": "disable",
        "DB_SECRET_ARN": secret_arn,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return database.build_engine(Settings())


def _login_password(engine) -> bytes:
    with engine.connect() as connection:
        return connection.connection.driver_connection.password


@pytest.fixture
def rotating_secret(db, monkeypatch):
    """(rotate, engine): an engine logging in with a Secrets Manager secret (moto) whose password is
    "first"; `rotate()` makes it "rotated"."""
    import json

    import boto3
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        arn = secrets.create_secret(Name="gbc-db", SecretString=json.dumps({"password": "first"}))["ARN"]
        parameters.clear_caches()
        engine = _secret_engine(monkeypatch, arn)

        def rotate() -> None:
            secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({"password": "rotated"}))

        try:
            yield rotate, engine
        finally:
            engine.dispose()
            parameters.clear_caches()


def test_a_new_connection_logs_in_with_the_rotated_password(rotating_secret):
    """RDS rotates a managed master password every 7 days: a warm container's next connection (the
    pool recycles every 5 minutes) must use the secret's current password, not the engine's first."""
    from aws_lambda_powertools.utilities import parameters

    rotate, engine = rotating_secret
    assert _login_password(engine) == b"first"
    rotate()
    parameters.clear_caches()  # the 5 minutes of the secret's cache have passed
    engine.pool.dispose()  # pool_recycle: the connection is replaced
    assert _login_password(engine) == b"rotated"


def test_a_refused_login_fetches_the_secret_again_and_retries_once(rotating_secret, monkeypatch):
    """Within the secret's 5-minute cache a rotation makes the server refuse the cached password
    (28P01): the connection fetches the secret past the cache and logs in with the new one."""
    import pg8000.dbapi
    from sqlalchemy.engine import default

    rotate, engine = rotating_secret
    assert _login_password(engine) == b"first"
    rotate()
    engine.pool.dispose()
    tried: list[str] = []
    real_connect = default.DefaultDialect.connect

    def server(self, *cargs, **cparams):  # this server uses password auth (the test's trusts all)
        tried.append(cparams["password"])
        if cparams["password"] != "rotated":
            raise pg8000.dbapi.DatabaseError({"S": "FATAL", "C": "28P01", "M": "password authentication failed"})
        return real_connect(self, *cargs, **cparams)

    monkeypatch.setattr(default.DefaultDialect, "connect", server)
    assert _login_password(engine) == b"rotated"
    assert tried == ["first", "rotated"], "the cached password once, then the fetched one"


@pytest.mark.parametrize(
    "literal",
    [
        "TIMESTAMPTZ '2026-12-01 18:48:48.767504+00'",
        "TIMESTAMPTZ '2026-12-01 18:48:48+05:30'",
        "TIMESTAMPTZ '0001-01-01 00:00:00+00'",
        "TIMESTAMPTZ 'infinity'",
        "TIMESTAMPTZ '-infinity'",
        "TIMESTAMPTZ '0044-03-15 12:00:00+00 BC'",
        "TIMESTAMP '2026-12-01 18:48:48.5'",
        "TIMESTAMP '2026-12-01 18:48:48'",
        "TIMESTAMP 'infinity'",
        "TIMESTAMP '20000-01-01 00:00:00'",
    ],
)
def test_timestamps_read_as_pg8000_reads_them(db, literal):
    """gbc.data.driver.read_timestamps_fast: the engine's connections read timestamps with
    fromisoformat, and give the value (and type) pg8000's own converter gives for the text
    PostgreSQL sent, for every shape it writes (fractions or none, offsets, infinity, BC, a year past
    9999)."""
    from pg8000.converters import timestamp_in, timestamptz_in
    from sqlalchemy import text

    with database.get_engine().connect() as conn:
        value, raw = conn.execute(text(f"SELECT {literal}, ({literal})::text")).one()
        readers = conn.connection.driver_connection.pg_types
    assert readers[driver.TIMESTAMPTZ_OID].__qualname__.startswith("_iso_or")
    assert readers[driver.TIMESTAMP_OID].__qualname__.startswith("_iso_or")
    pg8000_reads = (timestamptz_in if literal.startswith("TIMESTAMPTZ") else timestamp_in)(raw)
    assert (value, type(value)) == (pg8000_reads, type(pg8000_reads))
