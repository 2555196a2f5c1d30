"""Whether a session token may still be used: its user exists and is active, and it was not signed
out. One round trip, run by the authorizer once per token per policy-cache period (and by the API
itself when the authorizer could not reach the database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert

from gbc.data.models import RevokedToken, User
from gbc.data.transaction import UnitOfWork, unit_of_work


class SessionStatus(StrEnum):
    ACTIVE = "active"
    NO_USER = "no_user"
    INACTIVE = "inactive"
    REVOKED = "revoked"


def session_status(user_id: uuid.UUID, jti: str) -> SessionStatus:
    with unit_of_work() as uow:
        row = uow.session.execute(
            select(User.is_active, exists().where(RevokedToken.jti == jti)).where(User.id == user_id)
        ).first()
    if row is None:
        return SessionStatus.NO_USER
    is_active, revoked = row
    if revoked:
        return SessionStatus.REVOKED
    return SessionStatus.ACTIVE if is_active else SessionStatus.INACTIVE


def revoke(user_id: uuid.UUID, jti: str, expires_at: datetime) -> None:
    """Sign a token out (idempotent); the row is kept until the token would have expired anyway."""
    with unit_of_work() as uow:
        uow.session.execute(
            insert(RevokedToken)
            .values(jti=jti, user_id=user_id, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=[RevokedToken.jti])
        )


def prune_revoked(uow: UnitOfWork) -> int:
    """Forget revocations of tokens that have expired (they are refused for their exp anyway)."""
    result = uow.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < datetime.now(UTC)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
