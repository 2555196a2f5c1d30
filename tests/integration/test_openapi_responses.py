"""The OpenAPI documents carry every answer: each route's success is a typed model (a component of
the document, not a free-form object) and each error it documents is the error body."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from tests.support.api import call_api

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
# Documented answers that are not the error body, on purpose.
NOT_AN_ERROR_BODY = {
    # GET /api/health answers 503 with the report itself (the database is down, the rest may not be).
    ("/api/health", "get", "503"): {"$ref": "#/components/schemas/HealthReport"},
}
# Powertools documents a 422 "Validation Error" on every route of a validating resolver; ours answer
# a validation failure with 400 and the error body (gbc.api.errors), and only a route taking an
# Idempotency-Key documents a 422 of its own (which must be the error body).
POWERTOOLS_422 = {"$ref": "#/components/schemas/HTTPValidationError"}


def _api_document() -> dict[str, Any]:
    response = call_api("GET", "/api/docs", query={"format": "json"})
    assert response.status == 200
    return response.body  # type: ignore[no-any-return]


def _auth_document() -> dict[str, Any]:
    # The sign-in function serves no /api/docs; its resolver still builds the document.
    return json.loads(importlib.import_module("auth_app").app.get_openapi_json_schema())  # type: ignore[no-any-return]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def _json_schema(response: dict[str, Any]) -> Any:
    return response.get("content", {}).get("application/json", {}).get("schema")


@pytest.fixture(scope="module", params=["api", "auth"])
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _api_document() if request.param == "api" else _auth_document()


def test_every_success_answer_is_a_model_of_the_document(document):
    components = document["components"]["schemas"]
    untyped = []
    for path, method, operation in _operations(document):
        successes = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        assert successes, f"{method} {path} documents no success"
        for code, response in successes.items():
            schema = _json_schema(response)
            if code == "204":  # no content: nothing to type
                assert schema in (None, {"type": "null", "title": "Return"}), (path, method, schema)
                continue
            ref = (schema or {}).get("$ref", "")
            if set(schema or {}) != {"$ref"} or ref.removeprefix("#/components/schemas/") not in components:
                untyped.append(f"{method.upper()} {path} {code}: {schema}")
    assert untyped == []


def test_every_error_answer_is_the_error_body(document):
    wrong = []
    for path, method, operation in _operations(document):
        for code, response in operation["responses"].items():
            if code[0] not in "45":
                continue
            schema = _json_schema(response)
            expected = NOT_AN_ERROR_BODY.get((path, method, code), ERROR_BODY)
            if code == "422" and schema == POWERTOOLS_422 and response["description"] == "Validation Error":
                continue
            if schema != expected:
                wrong.append(f"{method.upper()} {path} {code}: {schema}")
    assert wrong == []


def test_the_documents_cover_both_functions():
    api = {path for path, _, _ in _operations(_api_document())}
    auth = {path for path, _, _ in _operations(_auth_document())}
    assert {"/api/game", "/api/wallet", "/api/withdraw", "/api/history", "/api/health", "/api/auth/logout"} <= api
    assert auth == {"/api/auth/nonce", "/api/auth/verify"}
