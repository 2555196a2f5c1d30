"""Keyset pagination with opaque, stable cursors: a page ends at a row's position and the next starts
strictly after it, so inserts and deletes elsewhere never shift or repeat rows.

Two orders, newest first: history by (ended_at, id), the ledger by its strict sequence. A cursor is
client input: it is decoded and validated in full (types, ranges, a time normalised to UTC) before it
comes near a statement; anything else is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_

from gbc.data.models import Game, Transaction
from gbc.data.transaction import unit_of_work
from gbc.errors import DomainError

MAX_CURSOR_LENGTH = 512
MAX_SEQUENCE = 2**63 - 1  # BIGINT


class InvalidCursor(DomainError):
    def __init__(self, reason: str) -> None:
        super().__init__("Validation failed")
        self.details = [f"cursor: {reason}"]


def _encode(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    if len(token) > MAX_CURSOR_LENGTH:
        raise InvalidCursor("is too long")
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise InvalidCursor("is not a cursor this API issued") from exc
    if not isinstance(data, dict):
        raise InvalidCursor("is not a cursor this API issued")
    return data


# What datetime.isoformat() writes for an aware time; fromisoformat alone accepts more (stray bytes).
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?[+-]\d{2}:\d{2}")


def _timestamp(value: Any) -> datetime:
    """An ISO timestamp with an offset, as an aware UTC datetime PostgreSQL can store."""
    if not isinstance(value, str) or _ISO_TIME.fullmatch(value) is None:
        raise InvalidCursor("position time must be an ISO 8601 time with a UTC offset")
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidCursor("position time is not ISO 8601") from exc
    try:
        return at.astimezone(UTC)  # year 9999 with a negative offset does not fit: refused here
    except OverflowError as exc:
        raise InvalidCursor("position time is out of range") from exc


def _uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise InvalidCursor("position id must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidCursor("position id is not a UUID") from exc


@dataclass(frozen=True)
class TimeKeyset:
    """Newest first by (time, id): `at`/`id` the columns, `at_field` the time's name in a row's view."""

    at: Any
    id: Any
    at_field: str

    def after(self, token: str) -> ColumnElement[bool]:
        data = _decode(token)
        if set(data) != {"t", "id"}:
            raise InvalidCursor("is not a cursor this API issued")
        at, id_ = _timestamp(data["t"]), _uuid(data["id"])
        return or_(self.at < at, and_(self.at == at, self.id < id_))

    def order(self) -> tuple[Any, ...]:
        return self.at.desc(), self.id.desc()

    def cursor_of_row(self, row: Any) -> str:
        return _encode({"t": getattr(row, self.at.key).isoformat(), "id": str(row.id)})

    def position_of_view(self, view: dict[str, Any]) -> tuple[Any, ...]:
        return datetime.fromisoformat(view[self.at_field]), uuid.UUID(view["id"])

    def cursor_of_view(self, view: dict[str, Any]) -> str:
        return _encode({"t": view[self.at_field], "id": view["id"]})


@dataclass(frozen=True)
class SequenceKeyset:
    """Newest first by a strictly increasing integer (the ledger's seq), `field` its name in a view."""

    seq: Any
    field: str

    def after(self, token: str) -> ColumnElement[bool]:
        data = _decode(token)
        value = data.get("s")
        if set(data) != {"s"} or type(value) is not int or not 0 < value <= MAX_SEQUENCE:
            raise InvalidCursor("is not a cursor this API issued")
        return self.seq < value  # type: ignore[no-any-return]

    def order(self) -> tuple[Any, ...]:
        return (self.seq.desc(),)

    def cursor_of_row(self, row: Any) -> str:
        return _encode({"s": int(getattr(row, self.seq.key))})

    def position_of_view(self, view: dict[str, Any]) -> tuple[Any, ...]:
        return (int(view[self.field]),)

    def cursor_of_view(self, view: dict[str, Any]) -> str:
        return _encode({"s": int(view[self.field])})


Keyset = TimeKeyset | SequenceKeyset


def validate_cursor(keyset: Keyset, cursor: str | None) -> None:
    """Refuse a bad cursor before any cache or database work."""
    if cursor:
        keyset.after(cursor)


def fetch_page(query: Select[Any], cursor: str | None, keyset: Keyset, limit: int) -> tuple[list[Any], str | None]:
    """Run `query` (already filtered) as one page after the cursor, newest first: fetches limit + 1
    rows to know whether a next page exists; returns the rows and the next cursor."""
    if cursor:
        query = query.where(keyset.after(cursor))
    query = query.order_by(*keyset.order()).limit(limit + 1)
    with unit_of_work() as uow:
        rows = list(uow.session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], keyset.cursor_of_row(rows[limit - 1])


def insert_into_first_page(
    page: dict[str, Any], items_field: str, keyset: Keyset, item: dict[str, Any], limit: int
) -> dict[str, Any] | None:
    """A cached first page (no cursor) with one more row, exactly as `fetch_page` would return it now
    (rows are the API's views). Idempotent. None when the row belongs to a later page (the page is
    full and the row is older than its last one)."""
    rows = page[items_field]
    if any(row["id"] == item["id"] for row in rows):
        return page
    order: Callable[[dict[str, Any]], tuple[Any, ...]] = keyset.position_of_view
    if page["nextCursor"] is not None and rows and order(item) < order(rows[-1]):
        return None
    merged = sorted([*rows, item], key=order, reverse=True)
    next_cursor = page["nextCursor"]
    if len(merged) > limit:
        merged = merged[:limit]
        next_cursor = keyset.cursor_of_view(merged[-1])
    return {**page, items_field: merged, "nextCursor": next_cursor}


# The API's two orders, used by the reads (gbc.history, gbc.wallet) and by the cache's write-through.
# History: newest first by (ended_at, id); a game's view names the time "endedAt".
HISTORY_ORDER = TimeKeyset(Game.ended_at, Game.id, "endedAt")
# The ledger: newest first by its strict sequence; a row's view names it "sequence".
LEDGER_ORDER = SequenceKeyset(Transaction.seq, "sequence")
