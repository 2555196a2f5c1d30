"""TOKEN authorizer: a valid session JWT of an existing, active user that was not signed out allows
the API; the user id, the token's id and expiry travel in the context.

API Gateway caches the policy per token for ReauthorizeEvery (30 s): a signed-out token or a
deactivated user stops working within that time, an expired token at once (the API checks `exp`).
When the database cannot be reached the token is allowed unverified (`verified: "false"`) and the API
checks the session itself on each request: an outage answers 503 there, never 500 here."""

from __future__ import annotations

# ruff: noqa: E402 - the imports below come after the collector is turned off.
import gc

# Off while the module's objects are built, then they are frozen (see api_app: ~0.1 s of a cold start).
gc.disable()

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.auth.sessions import SessionStatus, session_status
from gbc.auth.tokens import InvalidToken, verify_token
from gbc.data.outage import is_transient_database_error
from gbc.observability import logger


def _arn_parts(method_arn: str) -> dict[str, str]:
    # arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{resource}
    _, _, _, region, account, rest = method_arn.split(":", 5)
    api_id, stage = rest.split("/")[:2]
    return {"region": region, "aws_account_id": account, "api_id": api_id, "stage": stage}


def _unauthorized(reason: str) -> Exception:
    logger.info("token rejected", extra={"reason": reason})
    return Exception("Unauthorized")  # API Gateway turns this exact message into a 401


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    token_event = APIGatewayAuthorizerTokenEvent(event)
    token = token_event.authorization_token or ""
    scheme, _, value = token.partition(" ")
    try:
        principal = verify_token(value if scheme.lower() == "bearer" else token)
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from exc
    try:
        status: SessionStatus | None = session_status(principal.user_id, principal.jti)
    except Exception as exc:
        if not is_transient_database_error(exc):
            raise
        logger.warning("session not verified: database unavailable", extra={"error": type(exc).__name__})
        status = None
    if status in (SessionStatus.NO_USER, SessionStatus.REVOKED):
        raise _unauthorized(str(status))
    policy = APIGatewayAuthorizerResponse(
        principal_id=str(principal.user_id),
        context={
            "userId": str(principal.user_id),
            "walletAddress": principal.wallet_address,
            "jti": principal.jti,
            "exp": principal.expires_at,
            "verified": "true" if status is SessionStatus.ACTIVE else "false",
        },
        **_arn_parts(token_event.method_arn),
    )
    if status is SessionStatus.INACTIVE:
        policy.deny_all_routes()  # 403: the account is disabled
    else:
        # One policy for every route of the API, so API Gateway may cache it across routes.
        policy.allow_all_routes()
    return policy.asdict()


# The import is done: what it built is frozen, and collections are back on.
gc.freeze()
gc.enable()
