"""The one place domain errors (gbc.errors) and validation failures become HTTP answers."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from gbc.errors import DomainError
from gbc.observability import logger


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _location(loc: tuple[Any, ...]) -> str:
    # Powertools prefixes the part of the request ("body", "query"); the client wants the field.
    # An unparseable body comes as ("body", <position>): report it as the body.
    if len(loc) == 2 and loc[0] == "body" and isinstance(loc[1], int):
        return "body"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response:
        details = [f"{_location(tuple(err.get('loc', ())))}: {err.get('msg', 'invalid')}" for err in exc.errors()]
        return _json(HTTPStatus.BAD_REQUEST, {"error": "Validation failed", "details": details})

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        body: dict[str, Any] = {"error": exc.message}
        if exc.details:
            body["details"] = exc.details
        return _json(exc.status, body)

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "Internal server error"})
