"""Domain errors, free of any HTTP or Lambda concern; gbc.api.errors maps them to status codes."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class DomainError(Exception):
    status = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        # Named fields ({"field": "betAmount", ...}), or a validation failure's "field: reason" list.
        self.details: dict[str, Any] | list[str] = details


class Unauthorized(DomainError):
    status = HTTPStatus.UNAUTHORIZED


class Forbidden(DomainError):
    status = HTTPStatus.FORBIDDEN


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT


class InsufficientBalance(DomainError):
    status = HTTPStatus.PAYMENT_REQUIRED
