"""Calling the API function in-process with the same REST events the local stack builds."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from devstack.apigw import rest_event
from devstack.runtime import LocalContext


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str]


def call_api(
    method: str,
    path: str,
    *,
    body: Any = None,
    user_id: uuid.UUID | None = None,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
    function: str = "api_app",
    authorizer: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ApiResponse:
    import importlib

    handler = importlib.import_module(function).lambda_handler

    if authorizer is None and user_id is not None:
        authorizer = {"principalId": str(user_id), "userId": str(user_id)}
    event = rest_event(
        method,
        path,
        query={k: [v] for k, v in (query or {}).items()},
        headers={
            "Content-Type": ["application/json"],
            "User-Agent": ["pytest"],
            **{k: [v] for k, v in (headers or {}).items()},
        },
        body=raw_body if raw_body is not None else (json.dumps(body) if body is not None else None),
        authorizer=authorizer,
    )
    result = handler(event, LocalContext(function, 1024, 30))
    text = result.get("body") or ""
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = text
    headers = dict(result.get("headers") or {})
    headers.update({k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items() if v})
    return ApiResponse(result["statusCode"], parsed, headers)
