from __future__ import annotations

import uuid

import jwt
import pytest

from devstack.apigw import authorizer_context, policy_allows, token_authorizer_event
from devstack.runtime import LocalContext
from gbc.auth.tokens import InvalidToken, issue_token, verify_token

WALLET = "0x" + "ab" * 20


def test_token_round_trip():
    user_id = uuid.uuid4()
    principal = verify_token(issue_token(user_id, WALLET))
    assert principal.user_id == user_id and principal.wallet_address == WALLET


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


def _authorize(token: str) -> dict:
    import authorizer_app

    return authorizer_app.lambda_handler(
        token_authorizer_event(token, "PATCH", "/api/user"), LocalContext("AuthorizerFunction", 512, 5)
    )


def test_authorizer_allows_a_valid_bearer_token_and_passes_the_user():
    user_id = uuid.uuid4()
    policy = _authorize(f"Bearer {issue_token(user_id, WALLET)}")
    assert policy["principalId"] == str(user_id)
    assert authorizer_context(policy) == {"principalId": str(user_id), "userId": str(user_id), "walletAddress": WALLET}
    # One policy covers every route, so API Gateway's cache can serve it for the next route too.
    assert policy_allows(policy, "arn:aws:execute-api:us-east-1:123456789012:local/local/GET/api/history")


def test_authorizer_answers_unauthorized_for_a_bad_token():
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize("Bearer nonsense")
