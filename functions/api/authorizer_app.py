"""TOKEN authorizer: a valid session JWT allows the API; the user id travels in the context."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from gbc.auth.tokens import InvalidToken, verify_token
from gbc.observability import logger


def _arn_parts(method_arn: str) -> dict[str, str]:
    # arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{resource}
    _, _, _, region, account, rest = method_arn.split(":", 5)
    api_id, stage = rest.split("/")[:2]
    return {"region": region, "aws_account_id": account, "api_id": api_id, "stage": stage}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    token_event = APIGatewayAuthorizerTokenEvent(event)
    token = token_event.authorization_token or ""
    scheme, _, value = token.partition(" ")
    try:
        principal = verify_token(value if scheme.lower() == "bearer" else token)
    except InvalidToken as exc:
        logger.info("token rejected", extra={"reason": str(exc)})
        # API Gateway turns this exact message into a 401.
        raise Exception("Unauthorized") from exc
    policy = APIGatewayAuthorizerResponse(
        principal_id=str(principal.user_id),
        context={"userId": str(principal.user_id), "walletAddress": principal.wallet_address},
        **_arn_parts(token_event.method_arn),
    )
    # One policy for every route of the API, so API Gateway may cache it across routes.
    policy.allow_all_routes()
    return policy.asdict()
