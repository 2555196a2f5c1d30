"""The one OpenAPI document: committed (functions/api/openapi.json) and equal to what the code
generates, the sign-in routes merged with the API's, the bearer JWT scheme on exactly the routes
behind the TokenAuthorizer (template.yaml), and servers that fit the request: the stage's URL through
API Gateway's execute-api domain, the root locally."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from devstack.apigw import rest_event
from devstack.runtime import LocalContext
from devstack.template import ROOT, load_raw, load_stack
from gbc.api import openapi
from tests.support.api import call_api

STACK = load_stack()
DOCS = ("GET", "/api/docs")  # the document itself: not an operation of it
BEARER = [{"bearerAuth": []}]


def _served(**context: Any) -> dict[str, Any]:
    """GET /api/docs?format=json as API Gateway hands it over, with requestContext fields replaced."""
    event = rest_event("GET", "/api/docs", query={"format": ["json"]}, headers={"User-Agent": ["pytest"]})
    event["requestContext"].update(context)
    result = importlib.import_module("api_app").lambda_handler(event, LocalContext("api_app", 1024, 30))
    assert result["statusCode"] == 200, result
    return json.loads(result["body"])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    response = call_api("GET", "/api/docs", query={"format": "json"})
    assert response.status == 200
    return response.body  # type: ignore[no-any-return]


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def test_the_committed_document_is_what_the_code_generates():
    committed = openapi.document_path().read_text(encoding="utf-8")
    assert committed == openapi.render(openapi.build_document()), (
        "functions/api/openapi.json is out of date: run `python -m gbc.api.openapi` (make openapi)"
    )


def test_the_committed_document_ships_with_the_api_function():
    code_uri = load_raw()["Resources"]["ApiFunction"]["Properties"]["CodeUri"]
    assert openapi.document_path().parent == (ROOT / code_uri).resolve()
    assert openapi.document_path() == importlib.import_module("api_routes.docs").DOCUMENT  # what GET /api/docs reads


def test_the_served_document_is_the_committed_one(document):
    committed = json.loads(openapi.document_path().read_text(encoding="utf-8"))
    assert {**document, "servers": None} == {**committed, "servers": None}


def test_every_route_of_the_template_is_an_operation_of_the_one_document(document):
    template = {(r.method, r.path) for r in STACK.routes} - {DOCS}
    assert set(_operations(document)) == template
    # The sign-in function's routes are merged with the API function's.
    assert {("POST", "/api/auth/nonce"), ("POST", "/api/auth/verify"), ("POST", "/api/game")} <= template


def test_protected_routes_need_the_bearer_token_and_public_ones_none(document):
    operations = _operations(document)
    wrong = []
    for route in STACK.routes:
        if (route.method, route.path) == DOCS:
            continue
        expected = BEARER if route.authorizer is not None else None
        if operations[(route.method, route.path)].get("security") != expected:
            wrong.append(f"{route.method} {route.path}: {operations[(route.method, route.path)].get('security')}")
    assert wrong == []
    assert "security" not in document  # nothing global: the public routes stay public
    # 401 and 403 are the authorizer's (and the session check's): documented where it runs.
    for route in STACK.routes:
        if (route.method, route.path) != DOCS and route.authorizer is not None:
            assert {"401", "403"} <= set(operations[(route.method, route.path)]["responses"]), route


def test_the_bearer_scheme_is_a_jwt(document):
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert {k: scheme[k] for k in ("type", "scheme", "bearerFormat")} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


def test_the_local_stack_gets_the_root_as_its_server(document):
    # The local stack's events: domainName "localhost", stage "local"; the API is at http://localhost:3000/api/...
    assert document["servers"] == [{"url": "/", "description": "this API"}]


def test_api_gateway_gets_the_stage_url_as_its_server():
    domain = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    served = _served(domainName=domain, stage="prod")
    assert served["servers"] == [{"url": f"https://{domain}/prod", "description": "this API (stage prod)"}]


def test_a_custom_domain_gets_the_root_as_its_server():
    assert _served(domainName="api.example.com", stage="prod")["servers"][0]["url"] == "/"


@pytest.mark.parametrize(
    ("context", "url"),
    [
        ({"domainName": "localhost", "stage": "local"}, "/"),
        (
            {"domainName": "abc123.execute-api.eu-west-1.amazonaws.com", "stage": "dev"},
            "https://abc123.execute-api.eu-west-1.amazonaws.com/dev",
        ),
        (
            {"domainName": "abc123.execute-api.cn-north-1.amazonaws.com.cn", "stage": "dev"},
            "https://abc123.execute-api.cn-north-1.amazonaws.com.cn/dev",
        ),
        ({"domainName": "abc123.execute-api.us-east-1.amazonaws.com.evil.com", "stage": "dev"}, "/"),
        ({}, "/"),
    ],
)
def test_servers_for(context, url):
    assert openapi.servers_for({"requestContext": context})[0]["url"] == url


def test_the_committed_document_names_aws_and_the_local_stack():
    committed = json.loads(openapi.document_path().read_text(encoding="utf-8"))
    urls = [server["url"] for server in committed["servers"]]
    assert urls == ["https://{apiId}.execute-api.{region}.amazonaws.com/{stage}", "http://localhost:3000"]


def test_swagger_ui_has_the_document_with_the_requests_servers():
    response = call_api("GET", "/api/docs")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")
    page = response.body
    assert "SwaggerUIBundle" in page and '"bearerAuth"' in page  # the Authorize button's scheme
    assert '"servers": [{"url": "/", "description": "this API"}]' in page
    assert "</script" not in page.split("spec: ", 1)[1].split("presets:", 1)[0]  # the inlined spec is escaped


def test_dependencies_are_not_parameters_but_the_idempotency_key_is(document):
    # The caller, their session and the sender are dependencies (gbc.api.identity), not request parameters.
    names = {key: [p["name"] for p in op.get("parameters", [])] for key, op in _operations(document).items()}
    assert names[("PATCH", "/api/user")] == ["Idempotency-Key"]
    assert names[("POST", "/api/auth/logout")] == [] and names[("POST", "/api/auth/verify")] == []
    assert names[("GET", "/api/wallet")] == ["userId"]
