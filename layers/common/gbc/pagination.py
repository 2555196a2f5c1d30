"""Keyset pagination with opaque, stable cursors: a page ends at (timestamp, id) and the next starts
strictly after it, so inserts and deletes elsewhere never shift or repeat rows."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

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


def after(cursor: Cursor | None, at_column: Any, id_column: Any) -> ColumnElement[bool] | None:
    """WHERE clause for the rows after the cursor in (at DESC, id DESC) order."""
    if cursor is None:
        return None
    return or_(at_column < cursor.at, and_(at_column == cursor.at, id_column < cursor.id))


def page(rows: list[Any], limit: int, at_of: Any) -> tuple[list[Any], str | None]:
    """Rows fetched with limit + 1: the page and the next cursor (None on the last page)."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], Cursor(at_of(last), last.id).encode()
