"""Telling a database outage (retry later: 503) from a bug (500).

Transient: the server cannot be reached or dropped the connection, is shutting down or starting
(RDS failover, a restart), has no connection slot, or aborted a transaction to break a deadlock or a
serialization conflict. The same request, retried shortly, can succeed.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

TRANSIENT_SQLSTATES = frozenset(
    {
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, in recovery)
        "53300",  # too_many_connections
        "53400",  # configuration_limit_exceeded
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "25006",  # read_only_sql_transaction (a writer that became a reader in a failover)
    }
)


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE a pg8000 server error carries (its first argument is the server's fields)."""
    fields = error.args[0] if error.args else None
    code = fields.get("C") if isinstance(fields, dict) else None
    return str(code) if code else None


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


# Not transient: the credentials or the database name are wrong. Retrying will not help; it is a
# configuration error (500, and an alarm), not an outage to wait out.
CONFIGURATION_SQLSTATES = ("28", "3D000")


def is_transient_database_error(error: BaseException) -> bool:
    # Not `connection_invalidated`: every failed statement invalidates its connection (gbc.data.database).
    chain = _causes(error)
    if any((code := sqlstate(item)) is not None and code.startswith(CONFIGURATION_SQLSTATES) for item in chain):
        return False
    for item in chain:
        if isinstance(item, sa_exc.InterfaceError | sa_exc.OperationalError | sa_exc.TimeoutError):
            return True  # pg8000: cannot connect, network error, connection closed; pool exhausted
        code = sqlstate(item)
        if code is not None and (code in TRANSIENT_SQLSTATES or code.startswith("08")):
            return True
        if isinstance(item, ConnectionError | TimeoutError):
            return True
    return False
