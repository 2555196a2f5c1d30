from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.identity import CallerSession
from gbc.api.responses import BEARER, SIGNED_IN, documented
from gbc.auth.sessions import revoke

router = APIGatewayRouter()


@router.post(
    "/api/auth/logout",
    summary="Sign out: this session token stops working (within the authorizer's 30 s policy cache)",
    tags=["auth"],
    responses=documented(204, *SIGNED_IN, _204="signed out"),
    security=BEARER,
)
def post_logout(session: CallerSession) -> Response[None]:
    if session.jti and session.expires_at is not None:
        revoke(session.user_id, session.jti, session.expires_at)
    return Response(status_code=204)
