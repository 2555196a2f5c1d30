"""Sign-in state kept in the database so every container agrees: Sign-In with Ethereum nonces (used once) and the
session tokens signed out before they expire."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gbc.data.models.base import Base, _created_at


class RevokedToken(Base):
    """A session token signed out before it expires (its jti), kept until it would have expired."""

    __tablename__ = "revoked_tokens"
    __table_args__ = (Index("ix_revoked_tokens_expires", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = _created_at()


class AuthNonce(Base):
    """A Sign-In with Ethereum nonce: issued by the server, used once, expiring."""

    __tablename__ = "auth_nonces"
    __table_args__ = (Index("ix_auth_nonces_expires", "expires_at"),)

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(42))
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
