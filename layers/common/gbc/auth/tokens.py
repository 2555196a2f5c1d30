"""Session tokens: HS256 JWTs naming the user (sub) and their wallet."""

from __future__ import annotations

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
            options={"require": ["exp", "iat", "sub"]},
        )
        return Principal(user_id=uuid.UUID(claims["sub"]), wallet_address=str(claims.get("wallet", "")))
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
