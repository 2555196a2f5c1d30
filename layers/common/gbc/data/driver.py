"""What this project changes in pg8000 (1.31), and why: three hand-made changes where pg8000 has no
option, applied once when the engine is built, each tested against pg8000's own behaviour.

- One exchange a statement. pg8000 sends a one-shot statement (the unnamed prepared statement) in
  three exchanges, each closed by its own Sync: Parse, then Describe, then Bind + Execute. The
  protocol needs one: Parse, Describe, Bind, Execute and a single Sync go out together and the
  answers are read up to the one ReadyForQuery. An error anywhere still makes the server skip to
  that Sync and answer ErrorResponse, which pg8000 raises as before.
- BEGIN goes out with the transaction's first statement. A pg8000 cursor outside a transaction sends
  "begin transaction" in an exchange of its own and only then its statement; the protocol lets both
  go in one write (a simple Query, then the statement's messages), answered in order. The cursor's
  BEGIN is held back until its statement is sent, and never outlives that cursor call: a statement
  that fails before anything is sent leaves no BEGIN behind for whatever the connection does next.
  A stand that ends the round is the locked game (with BEGIN), the payout carrying the step, and
  COMMIT: 3 exchanges with PostgreSQL (10 without these changes).
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

    core = pg8000.core.CoreConnection
    core.execute_unnamed = _execute_unnamed_in_one_exchange
    core.execute_simple = _holding_back_begin(core.execute_simple)
    pg8000.legacy.Cursor.execute = _dropping_unsent_begin(pg8000.legacy.Cursor.execute)
    pg8000.legacy.convert_paramstyle = _remembering(pg8000.legacy.convert_paramstyle)


_BEGIN = "begin transaction"  # what a pg8000 cursor sends, alone, before a statement outside a transaction
_BEGIN_HELD = "_gbc_begin_held"  # on the connection: that BEGIN, to go out with the cursor's statement


def _execute_unnamed_in_one_exchange(
    self: Any, statement: str, vals: Any = (), oids: Any = (), stream: Any = None
) -> Any:
    """pg8000.core.CoreConnection.execute_unnamed, with one Sync instead of three (and the held-back
    BEGIN in front)."""
    from pg8000.core import NULL_BYTE, SYNC_MSG, Context, _flush, _write, make_params

    context = Context(statement, stream=stream)
    params = make_params(self.py_types, vals)  # before anything is written: a value it cannot send fails here
    began = _send_held_begin(self)
    self.send_PARSE(NULL_BYTE, statement, oids)
    self.send_DESCRIBE_STATEMENT(NULL_BYTE)
    self.send_BIND(NULL_BYTE, params)
    self.send_EXECUTE()
    _write(self._sock, SYNC_MSG)
    _flush(self._sock)
    _read_answers(self, began, context)
    return context


def _holding_back_begin(execute_simple: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def execute_simple_with_begin(self: Any, statement: str) -> Any:
        """pg8000's execute_simple; a cursor's BEGIN is held back, to go out with what follows."""
        from pg8000.core import Context, _flush

        if statement == _BEGIN:
            self.__dict__[_BEGIN_HELD] = True
            return Context(statement)
        began = _send_held_begin(self)
        if began is None:
            return execute_simple(self, statement)
        context = Context(statement)
        self.send_QUERY(statement)
        _flush(self._sock)
        _read_answers(self, began, context)
        return context

    return execute_simple_with_begin


def _dropping_unsent_begin(execute: Callable[..., Any]) -> Callable[..., Any]:
    def cursor_execute(self: Any, operation: str, args: Any = (), stream: Any = None) -> Any:
        """pg8000's Cursor.execute; a BEGIN its statement did not take along is dropped (the statement
        failed before it was sent, so the server never began: the transaction is simply not open)."""
        try:
            return execute(self, operation, args, stream)
        finally:
            connection = self._c
            if connection is not None:
                connection.__dict__.pop(_BEGIN_HELD, None)

    return cursor_execute


def _send_held_begin(connection: Any) -> Any:
    """Writes the held-back BEGIN (unflushed: it leaves with the statement after it); its Context, or
    None when there is none."""
    from pg8000.core import Context

    if not connection.__dict__.pop(_BEGIN_HELD, False):
        return None
    connection.send_QUERY(_BEGIN)
    return Context(_BEGIN)


def _read_answers(connection: Any, began: Any, context: Any) -> None:
    """The BEGIN's answers (when it went along), then the statement's: both are read to their
    ReadyForQuery before an error is raised, so the connection stays in step with the server."""
    from pg8000.exceptions import DatabaseError

    failed = None
    if began is not None:
        try:
            connection.handle_messages(began)
        except DatabaseError as exc:
            failed = exc
    connection.handle_messages(context)
    if failed is not None:
        raise failed


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
