"""What this project changes in pg8000 (1.31), and why: two hand-made fixes where pg8000 has no
option, applied once when the engine is built, each tested against pg8000's own behaviour.

- One exchange a statement. pg8000 sends a one-shot statement (the unnamed prepared statement) in
  three exchanges, each closed by its own Sync: Parse, then Describe, then Bind + Execute. The
  protocol needs one: Parse, Describe, Bind, Execute and a single Sync go out together and the
  answers are read up to the one ReadyForQuery. An error anywhere still makes the server skip to
  that Sync and answer ErrorResponse, which pg8000 raises as before. A stand that ends the round is
  BEGIN, the locked game, the payout carrying the step, and COMMIT: 4 exchanges with PostgreSQL
  (10 without this change).
- The placeholder rewrite remembered. pg8000 rewrites every statement's `%s` placeholders to `$1` by
  scanning its text char by char (a fifth of a game action's CPU). SQLAlchemy sends the same few
  texts over and over, and in the "format" style the rewrite depends on the text alone.

And one through pg8000's own API (register_in_adapter), on each new connection: timestamps are
read with datetime.fromisoformat, which takes PostgreSQL's ISO output as it is, instead of pg8000's
strptime (a pattern match per value: every game row has two). What it cannot read (infinity, BC
dates, years past 9999) goes to pg8000's converter, which answers as it always did.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

TIMESTAMP_OID, TIMESTAMPTZ_OID = 1114, 1184


@lru_cache(maxsize=1)
def tune_pg8000() -> None:
    import pg8000.core
    import pg8000.legacy

    pg8000.core.CoreConnection.execute_unnamed = _execute_unnamed_in_one_exchange
    pg8000.legacy.convert_paramstyle = _remembering(pg8000.legacy.convert_paramstyle)


def _execute_unnamed_in_one_exchange(
    self: Any, statement: str, vals: Any = (), oids: Any = (), stream: Any = None
) -> Any:
    """pg8000.core.CoreConnection.execute_unnamed, with one Sync instead of three."""
    from pg8000.core import NULL_BYTE, SYNC_MSG, Context, _flush, _write, make_params

    context = Context(statement, stream=stream)
    self.send_PARSE(NULL_BYTE, statement, oids)
    self.send_DESCRIBE_STATEMENT(NULL_BYTE)
    self.send_BIND(NULL_BYTE, make_params(self.py_types, vals))
    self.send_EXECUTE()
    _write(self._sock, SYNC_MSG)
    _flush(self._sock)
    self.handle_messages(context)
    return context


def _remembering(convert: Callable[[str, str, Any], tuple[str, Any]]) -> Callable[[str, str, Any], tuple[str, Any]]:
    @lru_cache(maxsize=4096)
    def rewritten(query: str) -> str:
        return convert("format", query, ())[0]

    def convert_paramstyle(style: str, query: str, args: Any) -> tuple[str, Any]:
        if style == "format":
            return rewritten(query), args
        return convert(style, query, args)

    return convert_paramstyle


def read_timestamps_fast(dbapi_connection: Any) -> None:
    """A new pg8000 connection reads timestamp and timestamptz values with datetime.fromisoformat."""
    from pg8000.converters import timestamp_in, timestamptz_in

    dbapi_connection.register_in_adapter(TIMESTAMP_OID, _iso_or(timestamp_in))
    dbapi_connection.register_in_adapter(TIMESTAMPTZ_OID, _iso_or(timestamptz_in))


def _iso_or(fallback: Callable[[str], Any]) -> Callable[[str], Any]:
    def read(data: str) -> Any:
        try:
            return datetime.fromisoformat(data)
        except ValueError:  # infinity, BC, a year past 9999: pg8000's answer
            return fallback(data)

    return read
