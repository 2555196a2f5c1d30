"""Session tokens: HS256 JWTs naming the user (sub) and their wallet, each with its own id (jti) so
that one session can be signed out (gbc.auth.sessions)."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from gbc import secret_store
from gbc.settings import get_settings

ISSUER = "gbc-blackjack"
_JTI = re.compile(r"[0-9a-f]{32}")
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
        "jti": secrets.token_hex(16),
    }
    return jwt.encode(claims, secret_store.jwt_secret(settings), algorithm="HS256")


def verify_token(token: str) -> Principal:
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            secret_store.jwt_secret(settings),
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
        # Correctly signed claims are still checked for shape: a token is only ever one we issued.
        jti, issued, expires = claims["jti"], claims["iat"], claims["exp"]
        if not isinstance(jti, str) or _JTI.fullmatch(jti) is None:
            raise InvalidToken("jti is not one this API issues")
        if type(issued) is not int or type(expires) is not int or not 0 < expires - issued <= settings.jwt_ttl_seconds:
            raise InvalidToken("iat/exp are not a session this API issues")
        return Principal(
            user_id=uuid.UUID(str(claims["sub"])),
            wallet_address=str(claims.get("wallet", "")),
            jti=jti,
            expires_at=expires,
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc
