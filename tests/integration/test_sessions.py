"""The authorizer and sign-out: a token works only for an existing, active user, until it expires or
is signed out; a database outage never makes the authorizer fail (the API checks instead)."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import update

from devstack.apigw import authorizer_context, policy_allows, token_authorizer_event
from devstack.runtime import LocalContext
from gbc.auth.tokens import issue_token, verify_token
from gbc.data.models import User
from gbc.data.transaction import unit_of_work
from tests.support.api import call_api
from tests.support.factories import make_funded_user

ANY_ROUTE = "arn:aws:execute-api:us-east-1:123456789012:local/local/GET/api/history"


def _authorize(token: str) -> dict:
    import authorizer_app

    return authorizer_app.lambda_handler(
        token_authorizer_event(token, "PATCH", "/api/user"), LocalContext("AuthorizerFunction", 512, 5)
    )


def _as_gateway(token: str, method: str, path: str, body: dict | None = None):
    """The request as API Gateway makes it: the authorizer's context, stringified, in the event."""
    return call_api(method, path, body=body, authorizer=authorizer_context(_authorize(f"Bearer {token}")))


def test_authorizer_allows_a_valid_token_and_passes_the_session(db):
    user = make_funded_user()
    token = issue_token(user.id, user.wallet_address)
    policy = _authorize(f"Bearer {token}")
    principal = verify_token(token)
    assert policy["principalId"] == str(user.id)
    assert authorizer_context(policy) == {
        "principalId": str(user.id),
        "userId": str(user.id),
        "walletAddress": user.wallet_address,
        "jti": principal.jti,
        "exp": str(principal.expires_at),
        "verified": "true",
    }
    # One policy covers every route, so API Gateway's cache can serve it for the next route too.
    assert policy_allows(policy, ANY_ROUTE)


def test_authorizer_answers_unauthorized_for_a_bad_token(db):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize("Bearer nonsense")


def test_a_token_of_a_user_that_does_not_exist_is_unauthorized(db):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(f"Bearer {issue_token(uuid.uuid4(), '0x' + 'ab' * 20)}")


def test_a_disabled_user_is_denied(db):
    user = make_funded_user()
    with unit_of_work() as uow:
        uow.session.execute(update(User).where(User.id == user.id).values(is_active=False))
    policy = _authorize(f"Bearer {issue_token(user.id, user.wallet_address)}")
    assert not policy_allows(policy, ANY_ROUTE)


def test_sign_out_revokes_that_token_only(db):
    user = make_funded_user()
    token, other = issue_token(user.id, user.wallet_address), issue_token(user.id, user.wallet_address)
    assert _as_gateway(token, "GET", "/api/wallet").status == 200
    assert _as_gateway(token, "POST", "/api/auth/logout").status == 204
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(f"Bearer {token}")
    assert _as_gateway(other, "GET", "/api/wallet").status == 200, "another session of the same user still works"


def test_a_policy_cached_past_sign_out_or_expiry_stops_working_in_the_api(db):
    """API Gateway may serve a cached verdict; the API still refuses an expired token at once, and an
    unverified (outage-time) verdict is checked against the revocations on each request."""
    user = make_funded_user()
    token = issue_token(user.id, user.wallet_address, ttl_seconds=2)
    cached = authorizer_context(_authorize(f"Bearer {token}"))
    assert call_api("GET", "/api/wallet", authorizer=cached).status == 200
    time.sleep(2.1)
    expired = call_api("GET", "/api/wallet", authorizer=cached)
    assert expired.status == 401 and "expired" in expired.body["error"]

    token = issue_token(user.id, user.wallet_address)
    unverified = {**authorizer_context(_authorize(f"Bearer {token}")), "verified": "false"}
    assert call_api("POST", "/api/auth/logout", authorizer=unverified).status == 204
    assert call_api("GET", "/api/wallet", authorizer=unverified).status == 401


def test_a_database_outage_lets_the_authorizer_allow_unverified_and_the_api_answer_503(db, override_settings):
    user = make_funded_user()
    token = issue_token(user.id, user.wallet_address)
    override_settings(DATABASE_URL="postgresql://postgres@127.0.0.1:9/none", DB_CONNECT_TIMEOUT=1)
    context = authorizer_context(_authorize(f"Bearer {token}"))
    assert context["verified"] == "false"
    answer = call_api("GET", "/api/wallet", authorizer=context)
    assert answer.status == 503 and answer.headers["Retry-After"] == "2"


def test_the_sweep_forgets_sign_outs_of_tokens_that_have_expired(db):
    from datetime import UTC, datetime, timedelta

    import outbox_sweep_app

    from gbc.auth.sessions import revoke, session_status

    user = make_funded_user()
    revoke(user.id, "old", datetime.now(UTC) - timedelta(seconds=1))
    revoke(user.id, "live", datetime.now(UTC) + timedelta(hours=1))
    result = outbox_sweep_app.lambda_handler({}, LocalContext("OutboxSweepFunction", 512, 60))
    assert result["revocationsPruned"] == 1
    assert session_status(user.id, "live") == "revoked" and session_status(user.id, "old") == "active"


def test_the_caller_is_a_dependency_a_test_can_replace(db, monkeypatch):
    """Routes take the caller through Depends(): overriding it needs neither a token nor a patch."""
    import api_app

    from gbc.api.identity import caller

    user = make_funded_user()
    monkeypatch.setitem(api_app.app.dependency_overrides, caller, lambda: user.id)
    assert call_api("GET", "/api/wallet").status == 200, "no authorizer context: the override is the caller"
    assert call_api("GET", "/api/wallet", query={"userId": str(uuid.uuid4())}).status == 403


@pytest.mark.parametrize(
    "memo",
    [
        # Powertools rebuilds a route's Depends() tree on every request, get_type_hints over the
        # handler included, unless it is remembered (gbc.api.resolver.remember_dependency_trees).
        "build_dependency_tree",
        # Solving the tree asks get_type_hints of every dependency on every request (Powertools looks
        # for a Request parameter); remembered, the string annotations are not evaluated again.
        "get_type_hints",
    ],
)
def test_powertools_dependency_work_is_done_once_not_per_request(db, memo):
    from aws_lambda_powertools.event_handler import depends

    user = make_funded_user("1")
    assert call_api("GET", "/api/wallet", user_id=user.id).status == 200
    before = getattr(depends, memo).cache_info()
    for _ in range(3):
        assert call_api("GET", "/api/wallet", user_id=user.id).status == 200
    after = getattr(depends, memo).cache_info()
    assert after.misses == before.misses and after.hits >= before.hits + 3
