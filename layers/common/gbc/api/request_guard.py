"""What every request must be before validation or the database sees it: a small JSON object in
UTF-8, and strings PostgreSQL can store. `check_request` only reads the API Gateway event and raises;
`canonical_content_type` then spells an accepted JSON media type the way Powertools compares it.

Why strings: PostgreSQL refuses NUL in text and JSONB, and pg8000 cannot encode a lone surrogate
(JSON allows "\\ud800"); pg8000 fails the second only after it has sent part of the statement. Every
string a client controls (body keys and values, query and path parameters) is checked here, so no
such value reaches a statement, whatever the route.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from gbc.errors import DomainError
from gbc.text import unstorable

MAX_BODY_BYTES = 16 * 1024  # the largest real body (a signed sign-in message) is under 3 KiB
MAX_DEPTH = 16  # our deepest schema nests 3 levels
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestRejected(DomainError):
    """A request refused before validation; `status` per instance (400, 413, 415)."""

    def __init__(self, status: HTTPStatus, message: str, details: list[str] | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.status = status
        if details is not None:
            self.details = details


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _media_type(headers: Mapping[str, str] | None) -> tuple[str, dict[str, str]] | None:
    for name, value in (headers or {}).items():
        if name.lower() == "content-type" and value is not None:
            kind, *params = (part.strip() for part in value.split(";"))
            pairs = dict(p.split("=", 1) for p in params if "=" in p)
            return kind.lower(), {k.strip().lower(): v.strip().strip('"').lower() for k, v in pairs.items()}
    return None


def _check_content_type(headers: Mapping[str, str] | None) -> None:
    found = _media_type(headers)
    if found is None:
        return  # no Content-Type: the body is read as JSON
    kind, params = found
    if kind != "application/json" or params.get("charset", "utf-8") != "utf-8":
        raise RequestRejected(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "Unsupported content type: send Content-Type: application/json (UTF-8)",
            field="Content-Type",
        )


def _raw_body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if not body:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestRejected(HTTPStatus.BAD_REQUEST, "body is not valid base64", field="body") from exc
    return str(body).encode("utf-8", "surrogatepass")


def _walk(value: Any, path: str, depth: int) -> None:
    """Depth and storability of every string in a parsed body (keys included), iteratively deep-safe."""
    stack: list[tuple[Any, str, int]] = [(value, path, depth)]
    while stack:
        item, where, level = stack.pop()
        if level > MAX_DEPTH:
            raise RequestRejected(HTTPStatus.BAD_REQUEST, "Validation failed", details=["body: nested too deeply"])
        if isinstance(item, str):
            _check_string(item, where)
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{where}.{key}" if where else str(key)
                _check_string(key, child_path)
                stack.append((child, child_path, level + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{where}.{i}" if where else str(i), level + 1) for i, child in enumerate(item))


def _check_string(text: str, where: str) -> None:
    if unstorable(text):
        raise RequestRejected(
            HTTPStatus.BAD_REQUEST,
            "Validation failed",
            details=[f"{where or 'body'}: contains a character that cannot be stored (NUL or a lone surrogate)"],
        )


def _check_body(event: Mapping[str, Any]) -> None:
    raw = _raw_body(event)
    if not raw:
        return
    if len(raw) > MAX_BODY_BYTES:
        raise RequestRejected(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body is larger than {MAX_BODY_BYTES} bytes", field="body"
        )
    if str(event.get("httpMethod", "")).upper() not in BODY_METHODS:
        return  # no route reads a GET's body
    _check_content_type(event.get("headers"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRejected(
            HTTPStatus.BAD_REQUEST, "Validation failed", details=["body: is not valid UTF-8"]
        ) from exc
    try:
        parsed = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "Validation failed", details=["body: nested too deeply"]) from exc
    except ValueError as exc:
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "Validation failed", details=["body: is not valid JSON"]) from exc
    if not isinstance(parsed, dict):
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "Validation failed", details=["body: must be a JSON object"])
    _walk(parsed, "", 1)


def _parameters(event: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for key in ("multiValueQueryStringParameters", "queryStringParameters"):
        for name, values in (event.get(key) or {}).items():
            for value in values if isinstance(values, list) else [values]:
                yield name, str(name)
                yield name, str(value)
    for name, value in (event.get("pathParameters") or {}).items():
        yield name, str(value)
    yield "path", str(event.get("path") or "")


def check_request(event: Mapping[str, Any]) -> None:
    """Raise RequestRejected for a request no route should see."""
    for name, value in _parameters(event):
        _check_string(value, name)
    _check_body(event)


def canonical_content_type(event: dict[str, Any]) -> None:
    """After check_request: an accepted JSON media type in any spelling (`Application/JSON;
    Charset="UTF-8"`) written as `application/json`, the form Powertools' body parser compares with."""
    if _media_type(event.get("headers")) is None:
        return
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key) or {}
        for name in list(headers):
            if name.lower() == "content-type":
                headers[name] = ["application/json"] if key == "multiValueHeaders" else "application/json"
