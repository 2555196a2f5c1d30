"""Session tokens: HS256 JWTs naming the user (sub) and their wallet, each with its own id (jti) so
that one session can be signed out (gbc.auth.sessions)."""

from __future__ import annotations

import secrets as pysecrets
import time
import uuid
from dataclasses import dataclass

import jwt

from gbc import secrets
from gbc.settings import get_settings

ISSUER = "gbc-blackjack"
AUDIENCE = "gbc-blackjack-api"


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    wallet_address: str
    jti: str
    expires_at: int  # epoch seconds


class InvalidToken(Exception):
    pass


def issue_token(user_id: uuid.UUID, wallet_address: str, ttl_seconds: int | None = None) -> str:
    settings = get_settings()
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "wallet": wallet_address,
        "iat": now,
        "exp": now + (ttl_seconds or settings.jwt_ttl_seconds),
        "jti": pysecrets.token_hex(16),
    }
    return jwt.encode(claims, secrets.jwt_secret(settings), algorithm="HS256")


def verify_token(token: str) -> Principal:
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            secrets.jwt_secret(settings),
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
        jti = claims["jti"]
        if not isinstance(jti, str) or not 0 < len(jti) <= 64:
            raise InvalidToken("jti must be a short string")
        return Principal(
            user_id=uuid.UUID(str(claims["sub"])),
            wallet_address=str(claims.get("wallet", "")),
            jti=jti,
            expires_at=int(claims["exp"]),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc
