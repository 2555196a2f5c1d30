"""The caller, as the Lambda authorizer put them in the request context.

The authorizer verified the token's signature and, unless the database was down (`verified` is not
"true"), that its user exists and is active and that it was not signed out. API Gateway may serve
that verdict from its cache past the token's expiry, so the expiry is checked here on every request;
an unverified session is checked here too (a database outage then answers 503).

Routes receive these through Powertools' dependency injection, as parameters annotated `CallerId`
(the user id), `CallerSession` (user id, token id, expiry: for sign-out) or `Sender` (source IP and
user agent, for the audit log; public routes too). The resolver computes each once per request,
after validation, and what it raises goes through the one error mapping; none of them is a request
parameter in the OpenAPI document. A test replaces one: `app.dependency_overrides[caller] = ...`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.request import Request  # at run time: Powertools injects by this type
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from gbc.errors import Forbidden, Unauthorized
from gbc.users.service import RequestMeta


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A caller whose session is valid now."""

    user_id: uuid.UUID
    jti: str  # the token's id ("" for a token without one)
    expires_at: datetime | None


def _context(event: APIGatewayProxyEvent) -> dict[str, Any]:
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


def _signed_in(event: APIGatewayProxyEvent) -> SignedIn:
    context = _context(event)
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
    return SignedIn(user_id, jti, expires_at)


def signed_in(request: Request) -> SignedIn:
    """Dependency: the caller's session, checked now (401 or 403 otherwise)."""
    return _signed_in(cast(APIGatewayProxyEvent, request.resolved_event))  # the REST resolver's event


def caller(request: Request) -> uuid.UUID:
    """Dependency: the signed-in caller's user id."""
    # Not Depends(signed_in): Powertools would still resolve that for a test that overrides `caller`.
    return signed_in(request).user_id


def request_meta(request: Request) -> RequestMeta:
    """Dependency: where the request came from, as API Gateway saw it."""
    identity = cast(APIGatewayProxyEvent, request.resolved_event).request_context.identity
    return RequestMeta(ip_address=identity.source_ip, user_agent=identity.user_agent)


CallerSession = Annotated[SignedIn, Depends(signed_in)]
CallerId = Annotated[uuid.UUID, Depends(caller)]
Sender = Annotated[RequestMeta, Depends(request_meta)]


def same_user(caller_id: uuid.UUID, claimed: uuid.UUID | str | None) -> uuid.UUID:
    """The seed's schemas carry an optional userId; it is accepted only when it names the caller."""
    if claimed is not None and str(claimed) != str(caller_id):
        raise Forbidden("userId does not match the signed-in user")
    return caller_id


def current_user_id(app: BaseRouter) -> uuid.UUID:
    """The caller's user id, for a middleware that runs before the route's dependencies
    (gbc.api.idempotency)."""
    return _signed_in(cast(APIGatewayProxyEvent, app.current_event)).user_id
