from __future__ import annotations

import uuid

import jwt
import pytest

from gbc.auth.tokens import InvalidToken, issue_token, verify_token

WALLET = "0x" + "ab" * 20


def test_token_round_trip():
    user_id = uuid.uuid4()
    principal = verify_token(issue_token(user_id, WALLET))
    assert principal.user_id == user_id and principal.wallet_address == WALLET
    assert len(principal.jti) == 32 and principal.jti != verify_token(issue_token(user_id, WALLET)).jti


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        jwt.encode(
            {"sub": str(uuid.uuid4()), "exp": 9999999999, "iat": 1},
            "another-secret-that-is-long-enough-for-hs256",
            algorithm="HS256",
        ),
        issue_token(uuid.uuid4(), WALLET, ttl_seconds=-10),  # expired
        jwt.encode(  # no jti: a token that could never be signed out
            {"sub": str(uuid.uuid4()), "exp": 9999999999, "iat": 1, "iss": "gbc-blackjack", "aud": "gbc-blackjack-api"},
            "test-secret-" + "x" * 40,
            algorithm="HS256",
        ),
    ],
)
def test_bad_tokens_are_refused(token):
    with pytest.raises(InvalidToken):
        verify_token(token)


def test_tampered_token_is_refused():
    header, _payload, signature = issue_token(uuid.uuid4(), WALLET).split(".")
    forged = jwt.utils.base64url_encode(b'{"sub":"' + str(uuid.uuid4()).encode() + b'","exp":9999999999}').decode()
    with pytest.raises(InvalidToken):
        verify_token(f"{header}.{forged}.{signature}")


def _signed(**claims) -> str:
    now = int(__import__("time").time())
    base = {
        "iss": "gbc-blackjack",
        "aud": "gbc-blackjack-api",
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 60,
        "jti": "ab" * 16,
    }
    return jwt.encode({**base, **claims}, "test-secret-" + "x" * 40, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": 253402300800},  # year 10000: past any session this API issues
        {"exp": 10**300},
        {"jti": "ab\u0000cd"},
        {"jti": "ab\ud800cd"},
        {"jti": ["ab" * 16]},
        {"jti": "x" * 32},
        {"iat": 1.5},
    ],
)
def test_correctly_signed_tokens_with_odd_claims_are_refused(claims):
    with pytest.raises(InvalidToken):
        verify_token(_signed(**claims))
    assert verify_token(_signed()).jti == "ab" * 16
