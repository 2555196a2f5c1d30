"""One SQLAlchemy engine per Lambda container, on pg8000.

Locally TLS is off (pg8000 otherwise tries SSL first: ~31 ms a connect instead of ~5 ms). In AWS the
connection goes through RDS Proxy, which requires TLS; its ACM certificate chains to Amazon's roots in
the system trust store, so `verify` needs no bundled CA file.
"""

from __future__ import annotations

import ssl
import time
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, ExceptionContext, make_url

from gbc import secret_store
from gbc.data.driver import read_timestamps_fast, tune_pg8000
from gbc.data.outage import sqlstate
from gbc.settings import Settings, get_settings


def database_url(settings: Settings) -> URL:
    """DATABASE_URL when given (any postgresql:// form), else the RDS Proxy endpoint + secret."""
    if settings.database_url:
        url = make_url(settings.database_url)
    elif settings.db_host:
        url = URL.create(
            "postgresql",
            username=settings.db_user,
            password=secret_store.db_password(settings),
            host=settings.db_host,
            port=settings.db_port,
            database=settings.db_name,
        )
    else:
        raise RuntimeError("DATABASE_URL or DB_HOST must be set")
    return url.set(drivername="postgresql+pg8000")


def _ssl_context(mode: str) -> ssl.SSLContext | bool:
    if mode == "disable":
        return False
    context = ssl.create_default_context()
    if mode == "require":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def discard_connection_on_error(context: ExceptionContext) -> None:
    """Never pool a connection again once a statement on it failed anywhere but in the server.

    pg8000 can fail after it has sent part of a statement (a parameter it cannot encode, after Parse
    and Describe went out; a timeout or a signal mid-read): the server's replies stay unread on the
    socket, and the next statement on that connection would read the previous one's answer (another
    user's rows). So every such error is treated as a disconnect: SQLAlchemy closes this connection
    instead of returning it to the pool; only a real disconnect also retires the rest of the pool.

    The one exception is an error the server itself reported (it carries an SQLSTATE): pg8000 has then
    read the server's replies up to ReadyForQuery, so the connection is in step and the transaction
    can roll back to a savepoint (how a duplicate credit is told apart from a failure)."""
    if context.is_pre_ping:
        return
    code = sqlstate(context.original_exception)
    if code is not None and not code.startswith(("08", "57P")):
        return
    if not context.is_disconnect:
        context.invalidate_pool_on_disconnect = False
    context.is_disconnect = True


# A connection idle longer than this is pinged before use: a frozen Lambda container wakes with
# connections RDS Proxy (or a restart) may have dropped; one in steady use is not pinged at all.
PING_AFTER_IDLE_S = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pessimistic disconnect handling (the checkout-event recipe of its pooling docs),
    but only for connections that sat idle: `pool_pre_ping` would add a round trip to every
    transaction. A failed ping makes the pool replace the connection (DisconnectionError)."""

    @event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()  # the DB-API opened a transaction for it: hand over a clean one
        except Exception as error:
            raise exc.DisconnectionError("the connection did not answer a ping after idling") from error


LOGIN_REFUSED = "28P01"  # invalid_password


def _password_per_connection(engine: Engine, settings: Settings) -> None:
    """Each new connection logs in with the secret's current password (SQLAlchemy's do_connect
    recipe for rotating credentials), not the one the engine was built with: RDS rotates a managed
    master password every 7 days, and pool_recycle reconnects warm containers every 5 minutes. The
    secret is cached for 5 minutes; a refused login fetches it again once and retries."""

    @event.listens_for(engine, "do_connect")
    def connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        cparams["password"] = secret_store.db_password(settings)
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as error:
            if sqlstate(error) != LOGIN_REFUSED:
                raise
        cparams["password"] = secret_store.db_password(settings, fresh=True)
        return dialect.connect(*cargs, **cparams)


def build_engine(settings: Settings) -> Engine:
    connect_args: dict[str, Any] = {
        "ssl_context": _ssl_context(settings.db_ssl),
        "timeout": settings.db_connect_timeout,
        "application_name": f"gbc-{settings.app_env}",
    }
    engine = create_engine(
        database_url(settings),
        connect_args=connect_args,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_recycle=300,
        # JSONB payloads hold Decimal as strings; keep the default json, no custom serializer needed.
    )
    if not settings.database_url and settings.db_secret_arn:
        _password_per_connection(engine, settings)
    event.listen(engine, "handle_error", discard_connection_on_error)
    _ping_when_idle(engine)
    tune_pg8000()  # gbc.data.driver: one exchange a statement, the placeholder rewrite remembered
    event.listen(engine, "connect", lambda dbapi_connection, record: read_timestamps_fast(dbapi_connection))
    return engine


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return build_engine(get_settings())
