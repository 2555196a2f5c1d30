"""The one place an exception becomes an HTTP answer, for every function with an API.

- a request refused before validation (gbc.api.request_guard): 400, 413 or 415;
- a validation failure: 400 `{"error": "Validation failed", "details": ["field: reason", ...]}`;
- a domain error (gbc.errors): its status, `{"error", "details"}`; money in details as decimal strings;
- an unknown path or method: 404;
- the database unreachable or overloaded for a moment: 503 with Retry-After;
- a COMMIT whose answer was lost: 503, with Retry-After only if the request carried an Idempotency-Key;
- anything else is a bug: 500 without details (logged with its stack trace).
"""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError

from gbc.data.outage import is_transient_database_error
from gbc.data.transaction import CommitOutcomeUnknown
from gbc.errors import DomainError
from gbc.money import money_str
from gbc.observability import logger

RETRY_AFTER_SECONDS = 2


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    # Powertools prefixes the part of the request ("body", "query"); the client wants the field.
    # An unparseable body comes as ("body", <position>): report it as the body.
    if len(loc) == 2 and loc[0] == "body" and isinstance(loc[1], int):
        return "body"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _public(value: Any) -> Any:
    """Details as the API shows data: Decimal as its money string, containers recursively."""
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_public(v) for v in value]
    return value


def error_response(exc: Exception) -> Response:
    """The HTTP answer for an exception."""
    if isinstance(exc, RequestValidationError):
        details = [f"{_location(tuple(err.get('loc', ())))}: {err.get('msg', 'invalid')}" for err in exc.errors()]
        return _json(HTTPStatus.BAD_REQUEST, {"error": "Validation failed", "details": details})
    if isinstance(exc, RequestUnsupportedContentType):
        return _json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "Unsupported content type"})
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"error": exc.message}
        if exc.details:
            body["details"] = _public(exc.details)
        return _json(exc.status, body)
    if isinstance(exc, NotFoundError):
        return _json(HTTPStatus.NOT_FOUND, {"error": "Not found"})
    if isinstance(exc, CommitOutcomeUnknown):
        logger.warning("commit outcome unknown", extra={"retrySafe": exc.retry_safe})
        if exc.retry_safe:
            return _json(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {"error": "Service temporarily unavailable: retry with the same Idempotency-Key"},
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        # No Retry-After: a blind retry could apply the change twice.
        return _json(
            HTTPStatus.SERVICE_UNAVAILABLE,
            {
                "error": "The database connection failed while saving: the change may or may not have been "
                "made. Check before retrying (GET /api/game/active, /api/wallet, /api/transactions), or send "
                "an Idempotency-Key so that a retry is safe."
            },
        )
    if is_transient_database_error(exc):
        logger.warning("database unavailable", extra={"error": type(exc).__name__})
        return _json(
            HTTPStatus.SERVICE_UNAVAILABLE,
            {"error": "Service temporarily unavailable, retry shortly"},
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    logger.exception("unhandled error")
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "Internal server error"})


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    # One handler for everything: error_response decides, so the mapping lives in one function.
    def handle(exc: Exception) -> Response:
        if isinstance(exc, CommitOutcomeUnknown) and app.current_event.http_method in ("GET", "HEAD"):
            exc.retry_safe = True  # a read changed nothing: retrying it is always safe
        return error_response(exc)

    app.exception_handler(Exception)(handle)
    app.not_found(error_response)
