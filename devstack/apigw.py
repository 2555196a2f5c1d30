"""API Gateway REST (v1 proxy) events and responses, shared by the local HTTP API, the tests and the
benchmarks so that all three call the handlers with the same shape of event."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from devstack.template import ACCOUNT

API_ID = "local"
STAGE = "local"


def method_arn(method: str, resource_path: str) -> str:
    return f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{API_ID}/{STAGE}/{method}{resource_path}"


def rest_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, list[str]] | None = None,
    body: str | bytes | None = None,
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """A REST API proxy event, as API Gateway hands it to a Lambda proxy integration."""
    headers = {k: list(v) for k, v in (headers or {}).items()}
    query = {k: list(v) for k, v in (query or {}).items()}
    is_binary = isinstance(body, bytes)
    if is_binary:
        try:
            body = body.decode("utf-8")  # type: ignore[union-attr]
            is_binary = False
        except UnicodeDecodeError:
            body = base64.b64encode(body).decode()  # type: ignore[arg-type]
    user_agent = next(iter(headers.get("User-Agent", headers.get("user-agent", [""]))), "")
    now = time.time()
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in headers.items()} or None,
        "multiValueHeaders": headers or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "stage": STAGE,
            "resourceId": "local",
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "domainName": "localhost",
            "identity": {"sourceIp": source_ip, "userAgent": user_agent},
            "authorizer": dict(authorizer) if authorizer is not None else None,
        },
        "body": body,
        "isBase64Encoded": is_binary,
    }


def token_authorizer_event(token: str, method: str, resource_path: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn(method, resource_path)}


def policy_allows(policy: Mapping[str, Any], arn: str) -> bool:
    """Evaluate an authorizer's IAM policy for one method ARN (explicit Deny wins)."""
    import fnmatch

    allowed = False
    for statement in policy.get("policyDocument", {}).get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(arn, pattern) for pattern in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def authorizer_context(policy: Mapping[str, Any]) -> dict[str, Any]:
    """What API Gateway puts in requestContext.authorizer: principalId plus the context values."""
    # API Gateway hands the context values to the integration as strings.
    context = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (policy.get("context") or {}).items()}
    return {"principalId": policy.get("principalId"), **context}


def decode_response(result: Mapping[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """A proxy integration's answer as (status, headers, body bytes)."""
    headers: list[tuple[str, str]] = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values if (name, str(v)) not in headers)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return int(result.get("statusCode", 200)), headers, raw


def gateway_error(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """API Gateway's own answer without a GatewayResponses entry."""
    return status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode()


# API Gateway's response types: their default status, and the family whose DEFAULT_* applies.
RESPONSE_TYPES = {
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "REQUEST_TOO_LARGE": 413,
    "THROTTLED": 429,
    "DEFAULT_5XX": 502,  # a proxy integration whose Lambda failed
}


def gateway_response(responses: Mapping[str, Any], kind: str, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """What API Gateway answers for a response type, with the template's GatewayResponses applied:
    the type's own entry, else DEFAULT_4XX/DEFAULT_5XX by its status, else the built-in body."""
    status = RESPONSE_TYPES[kind]
    spec = responses.get(kind) or responses.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX")
    if spec is None:
        return gateway_error(status, message)
    status = spec.status or status
    headers = [("Content-Type", "application/json"), *spec.headers.items()]
    if spec.template is None:
        return status, headers, json.dumps({"message": message}).encode()
    # $context.error.messageString is the message as a quoted JSON string.
    body = spec.template.replace("$context.error.messageString", json.dumps(message))
    return status, headers, body.replace("$context.error.message", message).encode()
