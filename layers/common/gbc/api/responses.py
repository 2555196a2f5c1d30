"""The answers each route documents in the OpenAPI document: its success and every error it can
give, described once here so the document matches what the error mapping (gbc.api.errors) answers.
A validation failure is a 400 with the error body: no route documents Powertools' own 422
(HTTPValidationError), which gbc.api.openapi drops; 422 is only an Idempotency-Key's."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader

from gbc.views import ErrorBody

DESCRIPTIONS = {
    200: "ok",
    201: "created",
    204: "done, no content",
    400: 'validation failed: {"error": "Validation failed", "details": ["field: reason", ...]}',
    401: "not signed in, or the session expired or was signed out",
    402: "insufficient balance",
    403: "userId is not the caller, or the account is disabled",
    404: "not found",
    409: "conflicts with the current state (or a request with this Idempotency-Key is still in progress)",
    413: "body larger than 16 KiB",
    415: "Content-Type is not application/json (UTF-8)",
    422: "this Idempotency-Key was used for a different request",
    429: "too many requests (API Gateway's throttling): retry later",
    503: "the database is unavailable for a moment: retry after Retry-After seconds",
}
RETRY_AFTER: dict[str, OpenAPIResponseHeader] = {
    "Retry-After": {
        "description": "seconds to wait before retrying; absent when a change may have been made "
        "without an Idempotency-Key (check before retrying)",
        "schema": {"type": "integer"},
    }
}
# Every route can refuse its input, be throttled by API Gateway and meet a database outage; a
# signed-in route can refuse its caller; a route with a body can refuse its media type.
ANY_ROUTE = (400, 413, 429, 503)
SIGNED_IN = (401, 403)
WITH_BODY = (415,)
# A state-changing route honours an Idempotency-Key (gbc.api.idempotency): a duplicate still in
# progress (409), the key reused for a different request (422).
IDEMPOTENT = (409, 422)

# The security scheme of the document (gbc.api.openapi): the session token of POST /api/auth/verify,
# sent as `Authorization: Bearer <token>`. `security=BEARER` on every route behind the TokenAuthorizer.
BEARER_SCHEME = "bearerAuth"
BEARER: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]


def documented(success: int, *codes: int, **described: str) -> dict[int, OpenAPIResponse]:
    """`responses=` for a route: `success` (its schema is the route's return type), the codes given,
    and ANY_ROUTE, each with the error body; `described` overrides a description by code, e.g.
    documented(201, 402, *SIGNED_IN, _404="no such item")."""
    overrides = {int(key.lstrip("_")): text for key, text in described.items()}
    chosen = sorted({success, *codes, *ANY_ROUTE, *overrides})
    responses: dict[int, OpenAPIResponse] = {}
    for code in chosen:
        description = overrides.get(code, DESCRIPTIONS[code])
        if code == success or code == 204:
            responses[code] = OpenAPIResponse(description=description)
        else:
            responses[code] = OpenAPIResponse(description=description, content={JSON: {"model": ErrorBody}})
        if code == 503:
            responses[code]["headers"] = RETRY_AFTER
    return responses


JSON = "application/json"
