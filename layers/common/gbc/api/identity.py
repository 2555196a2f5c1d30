"""The caller, as the Lambda authorizer put them in the request context."""

from __future__ import annotations

import uuid

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from gbc.errors import Forbidden


def current_user_id(app: APIGatewayRestResolver) -> uuid.UUID:
    authorizer = app.current_event.request_context.authorizer
    raw = authorizer.get("userId") if authorizer else None
    if not raw:
        # API Gateway never lets an unauthorized request this far; this guards misconfigured routes.
        raise Forbidden("not signed in")
    return uuid.UUID(str(raw))


def ensure_same_user(app: APIGatewayRestResolver, claimed: uuid.UUID | str | None) -> uuid.UUID:
    """The seed's schemas carry a userId; it is accepted only when it names the caller."""
    user_id = current_user_id(app)
    if claimed is not None and str(claimed) != str(user_id):
        raise Forbidden("userId does not match the signed-in user")
    return user_id
