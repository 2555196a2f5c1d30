"""The caller, as the Lambda authorizer put them in the request context.

The authorizer verified the token's signature and, unless the database was down (`verified` is not
"true"), that its user exists and is active and that it was not signed out. API Gateway may serve
that verdict from its cache past the token's expiry, so the expiry is checked here on every request;
an unverified session is checked here too (a database outage then answers 503)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from gbc.errors import Forbidden, Unauthorized


def _context(app: BaseRouter) -> dict[str, Any]:
    event = cast(APIGatewayProxyEvent, app.current_event)  # the REST resolver's event
    authorizer = event.request_context.authorizer
    context = dict(authorizer) if authorizer else {}
    if not context.get("userId"):
        # API Gateway never lets an unauthorized request this far; this guards misconfigured routes.
        raise Unauthorized("not signed in")
    return context


def _check_session(user_id: uuid.UUID, jti: str) -> None:
    from gbc.auth.sessions import SessionStatus, session_status

    status = session_status(user_id, jti)
    if status is SessionStatus.INACTIVE:
        raise Forbidden("this account is disabled")
    if status is not SessionStatus.ACTIVE:
        raise Unauthorized("session is no longer valid: sign in again")


def current_session(app: BaseRouter) -> tuple[uuid.UUID, str, datetime | None]:
    """(user id, token id, expiry) of a caller whose session is valid now."""
    context = _context(app)
    try:
        expires = int(context["exp"]) if context.get("exp") is not None else None
        expires_at = datetime.fromtimestamp(expires, UTC) if expires is not None else None
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise Unauthorized("session is not valid: sign in again") from exc
    if expires is not None and time.time() >= expires:
        raise Unauthorized("session expired: sign in again")
    user_id = uuid.UUID(str(context["userId"]))
    jti = str(context.get("jti") or "")
    if str(context.get("verified")) != "true":
        _check_session(user_id, jti)
    return user_id, jti, expires_at


def current_user_id(app: BaseRouter) -> uuid.UUID:
    return current_session(app)[0]


def ensure_same_user(app: BaseRouter, claimed: uuid.UUID | str | None) -> uuid.UUID:
    """The seed's schemas carry a userId; it is accepted only when it names the caller."""
    user_id = current_user_id(app)
    if claimed is not None and str(claimed) != str(user_id):
        raise Forbidden("userId does not match the signed-in user")
    return user_id
