"""Keyset pagination with opaque, stable cursors: a page ends at (timestamp, id) and the next starts
strictly after it, so inserts and deletes elsewhere never shift or repeat rows."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_

from gbc.data.transaction import unit_of_work
from gbc.errors import DomainError


class InvalidCursor(DomainError):
    pass


@dataclass(frozen=True)
class Cursor:
    at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps({"t": self.at.isoformat(), "id": str(self.id)}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            return cls(datetime.fromisoformat(data["t"]), uuid.UUID(data["id"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidCursor("cursor is not valid", field="cursor") from exc


def fetch_page(
    query: Select[Any], cursor: str | None, at_column: Any, id_column: Any, limit: int
) -> tuple[list[Any], str | None]:
    """Run `query` (already filtered) as one page in (at DESC, id DESC) order after the cursor:
    fetches limit + 1 rows to know whether a next page exists; returns the rows and the next cursor."""
    if cursor:
        position = Cursor.decode(cursor)
        query = query.where(or_(at_column < position.at, and_(at_column == position.at, id_column < position.id)))
    query = query.order_by(at_column.desc(), id_column.desc()).limit(limit + 1)
    with unit_of_work() as uow:
        rows = list(uow.session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(getattr(last, at_column.key), last.id).encode()


def insert_into_first_page(
    page: dict[str, Any], items_field: str, at_field: str, item: dict[str, Any], limit: int
) -> dict[str, Any] | None:
    """A cached first page (no cursor) with one more row, exactly as `fetch_page` would return it now
    (rows are views with "id" and an ISO timestamp in `at_field`). Idempotent. None when the row
    belongs to a later page (the page is full and the row is older than its last one)."""
    rows = page[items_field]
    if any(row["id"] == item["id"] for row in rows):
        return page

    def order(row: dict[str, Any]) -> tuple[datetime, uuid.UUID]:
        return datetime.fromisoformat(row[at_field]), uuid.UUID(row["id"])

    if page["nextCursor"] is not None and rows and order(item) < order(rows[-1]):
        return None
    merged = sorted([*rows, item], key=order, reverse=True)
    next_cursor = page["nextCursor"]
    if len(merged) > limit:
        merged = merged[:limit]
        at, last_id = order(merged[-1])
        next_cursor = Cursor(at, last_id).encode()
    return {**page, items_field: merged, "nextCursor": next_cursor}
