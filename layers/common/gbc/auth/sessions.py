"""Whether a session token may still be used: its user exists and is active, and it was not signed
out. One round trip, run by the authorizer once per token per policy-cache period (and by the API
itself when the authorizer could not reach the database).

SQL on the engine rather than the ORM: the authorizer imports only this, and the ORM's models would
add a third to its cold start."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, text

from gbc.data.database import get_engine

_STATUS = text(
    "SELECT u.is_active, EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = :jti) AS revoked "
    "FROM users u WHERE u.id = :user_id"
)
_REVOKE = text(
    "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES (:jti, :user_id, :expires_at) "
    "ON CONFLICT (jti) DO NOTHING"
)
_PRUNE = text("DELETE FROM revoked_tokens WHERE expires_at < now()")


class SessionStatus(StrEnum):
    ACTIVE = "active"
    NO_USER = "no_user"
    INACTIVE = "inactive"
    REVOKED = "revoked"


def session_status(user_id: uuid.UUID, jti: str) -> SessionStatus:
    with get_engine().connect() as conn:
        row = conn.execute(_STATUS, {"user_id": user_id, "jti": jti}).first()
    if row is None:
        return SessionStatus.NO_USER
    if row.revoked:
        return SessionStatus.REVOKED
    return SessionStatus.ACTIVE if row.is_active else SessionStatus.INACTIVE


def revoke(user_id: uuid.UUID, jti: str, expires_at: datetime) -> None:
    """Sign a token out (idempotent); the row is kept until the token would have expired anyway."""
    with get_engine().begin() as conn:
        conn.execute(_REVOKE, {"jti": jti, "user_id": user_id, "expires_at": expires_at})


def prune_revoked(conn: Connection) -> int:
    """Forget revocations of tokens that have expired (they are refused for their exp anyway)."""
    return int(conn.execute(_PRUNE).rowcount or 0)
