"""The API's one OpenAPI document: the routes of every function with an API (the API function's and
the sign-in function's) merged, the bearer JWT scheme on each route behind the TokenAuthorizer
(`security=BEARER`, gbc.api.responses) and the error model the API really answers.

The document is generated here and committed (functions/api/openapi.json, shipped with the
functions); `GET /api/docs` serves that file (api_routes.docs), so no request builds it and
Powertools' OpenAPI models stay out of the cold start. After changing a route, rewrite it with
`python -m gbc.api.openapi` (`make openapi`); a test fails while it differs from the code
(tests/integration/test_openapi_document.py).

Servers: the committed document names API Gateway's stage URL (the stack's ApiUrl output) and the
local stack; each request for the document gets the one server it can call (servers_for).

Nothing here imports Powertools' OpenAPI models before a document is built."""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gbc.api.responses import BEARER_SCHEME

TITLE = "GBC Blackjack API"
VERSION = "0.1.0"
DESCRIPTION = (
    "Blackjack with a provably fair shoe and an on-chain wallet. Sign in with Ethereum (EIP-4361): "
    "`POST /api/auth/nonce`, sign the message, `POST /api/auth/verify` returns a session token; send it "
    "as `Authorization: Bearer <token>` to every route that shows a lock. Money is a decimal string. "
    'Every error is `{"error": "...", "details": ...}`; a validation failure is 400 with details '
    '`["field: reason", ...]`.'
)
# Every function with an API, by handler module: its resolver is the module's `app`.
HANDLERS = ("api_app", "auth_app")
DOCUMENT_NAME = "openapi.json"  # next to the handlers (functions/api), so it ships with them

TAGS = {
    "auth": "Sign in with Ethereum and sign out",
    "game": "Bets, actions and the fairness proof",
    "history": "Ended games, stats and the leaderboard",
    "wallet": "Balance, ledger, deposits and withdrawals",
    "store": "The catalog and purchases",
    "user": "The profile",
    "ops": "Health",
    "realtime": "The push stream's ticket",
}
# The committed document's servers: API Gateway's stage URL (template.yaml's ApiUrl) and the local stack.
SERVERS: list[dict[str, Any]] = [
    {
        "url": "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
        "description": "API Gateway (the stack's ApiUrl output)",
        "variables": {
            "apiId": {"default": "apiId", "description": "the REST API's id"},
            "region": {"default": "us-east-1"},
            "stage": {"default": "dev", "enum": ["dev", "prod"]},
        },
    },
    {"url": "http://localhost:3000", "description": "the local stack (make dev)"},
]
BEARER_DESCRIPTION = "The session token from POST /api/auth/verify (an HS256 JWT, valid for JWT_TTL_SECONDS)."

# Powertools documents a 422 "Validation Error" (HTTPValidationError) on every operation of a
# validating resolver, and a ResponseValidationError; the API answers a validation failure with 400
# and the error body (gbc.api.errors), a response that fails validation is a bug (500).
_POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_REF = "#/components/schemas/"
_EXECUTE_API = re.compile(r"[a-z0-9-]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?", re.IGNORECASE)


def servers_for(event: Mapping[str, Any]) -> list[dict[str, str]]:
    """The servers of the document served for this request (a REST proxy event): through API
    Gateway's execute-api domain the API is under its stage (https://{id}.execute-api.{region}
    .amazonaws.com/{stage}); anywhere else (the local stack on http://localhost:3000) at the root of
    the origin that served the document."""
    context = event.get("requestContext") or {}
    domain, stage = str(context.get("domainName") or ""), str(context.get("stage") or "")
    if stage and _EXECUTE_API.fullmatch(domain):
        return [{"url": f"https://{domain}/{stage}", "description": f"this API (stage {stage})"}]
    return [{"url": "/", "description": "this API"}]


def build_document(apps: Iterable[Any] | None = None) -> dict[str, Any]:
    """The merged document of the resolvers (default: every handler's `app`)."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server, Tag

    resolvers = list(apps) if apps is not None else [importlib.import_module(name).app for name in HANDLERS]
    schemes: dict[str, Any] = {BEARER_SCHEME: HTTPBearer(bearerFormat="JWT", description=BEARER_DESCRIPTION)}
    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        servers=[Server(**server) for server in SERVERS],
        tags=[Tag(name=name, description=text) for name, text in TAGS.items()],
        security_schemes=schemes,
        on_conflict="error",
    )
    seen: dict[str, Any] = {}
    for app in resolvers:
        schema = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION, security_schemes=schemes))
        _document_idempotency(app, schema)
        for name, component in schema.get("components", {}).get("schemas", {}).items():
            if seen.setdefault(name, component) != component:  # the merge would keep one silently
                raise ValueError(f"two different schemas named {name}")
        merge.add_schema(schema)
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    _drop_powertools_validation_errors(document)
    return document


def _operations(document: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for methods in document.get("paths", {}).values():
        yield from methods.values()


def _drop_powertools_validation_errors(document: dict[str, Any]) -> None:
    for operation in _operations(document):
        responses = operation.get("responses", {})
        for code, response in list(responses.items()):
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") == _REF + "HTTPValidationError":
                del responses[code]
    schemas = document.get("components", {}).get("schemas", {})
    for name in _POWERTOOLS_SCHEMAS:
        schemas.pop(name, None)
    text = json.dumps(document)
    left = [name for name in _POWERTOOLS_SCHEMAS if f'"{_REF}{name}"' in text]
    if left:
        raise ValueError(f"the document still refers to {left}")


def _document_idempotency(app: Any, schema: dict[str, Any]) -> None:
    """The Idempotency-Key header, and the Idempotent-Replayed header of a replayed answer, on every
    operation whose route runs the idempotent middleware (gbc.api.idempotency reads the header
    itself, so Powertools does not see it)."""
    from gbc.api.idempotency import _KEY, HEADER, KEEP_HOURS, REPLAYED_HEADER, idempotent

    for route in [*app._static_routes, *app._dynamic_routes]:
        if idempotent not in route.middlewares or not route.include_in_schema:
            continue
        operation = schema["paths"][route.openapi_path][route.method.lower()]
        operation.setdefault("parameters", []).append(
            {
                "name": HEADER,
                "in": "header",
                "required": False,
                "description": f"Makes a retry safe: a request with the same key (per user, kept {KEEP_HOURS} h) "
                "gets the first answer instead of making the change again. A fresh key per intended change.",
                "schema": {"type": "string", "pattern": f"^{_KEY.pattern}$"},
            }
        )
        for code, response in operation["responses"].items():
            if code.startswith("2"):
                response.setdefault("headers", {})[REPLAYED_HEADER] = {
                    "description": "true when this is the stored answer of an earlier request with this key",
                    "schema": {"type": "string", "enum": ["true"]},
                }


def render(document: Mapping[str, Any]) -> str:
    """The committed file's text."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def document_path() -> Path:
    """Where the document is committed: next to the first handler (functions/api)."""
    return Path(str(importlib.import_module(HANDLERS[0]).__file__)).resolve().parent / DOCUMENT_NAME


def main(argv: list[str] | None = None) -> int:
    import argparse  # here: GET /api/docs imports this module, and the API function has no use for a CLI parser

    parser = argparse.ArgumentParser(prog="python -m gbc.api.openapi", description=f"Rewrite {DOCUMENT_NAME}.")
    parser.add_argument("--check", action="store_true", help="only check that the committed document is current")
    args = parser.parse_args(argv)
    text, path = render(build_document()), document_path()
    if args.check:
        current = path.exists() and path.read_text(encoding="utf-8") == text
        print(f"{path}: {'current' if current else 'out of date: run python -m gbc.api.openapi'}")
        return 0 if current else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
