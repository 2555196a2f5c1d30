"""The OpenAPI document carries every answer: each route's success is a typed model (a component of
the document, not a free-form object) and each error it documents is the error body. A validation
failure is a 400 (gbc.api.errors): no operation documents Powertools' 422 (HTTPValidationError)."""

from __future__ import annotations

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
POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def _json_schema(response: dict[str, Any]) -> Any:
    return response.get("content", {}).get("application/json", {}).get("schema")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    response = call_api("GET", "/api/docs", query={"format": "json"})
    assert response.status == 200
    return response.body  # type: ignore[no-any-return]


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
            expected = NOT_AN_ERROR_BODY.get((path, method, code), ERROR_BODY)
            if _json_schema(response) != expected:
                wrong.append(f"{method.upper()} {path} {code}: {_json_schema(response)}")
    assert wrong == []


def test_no_operation_documents_powertools_validation_error(document):
    assert not set(POWERTOOLS_SCHEMAS) & set(document["components"]["schemas"])
    text = json.dumps(document)
    assert not [name for name in POWERTOOLS_SCHEMAS if f"#/components/schemas/{name}" in text]
    # A 422 is only an Idempotency-Key's: on the routes that take one.
    with_422 = {(path, method) for path, method, op in _operations(document) if "422" in op["responses"]}
    idempotent = {
        (path, method)
        for path, method, op in _operations(document)
        if any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
    }
    assert with_422 == idempotent and len(idempotent) >= 6


def test_validation_failures_are_documented_as_400(document):
    for path, method, operation in _operations(document):
        assert "Validation failed" in operation["responses"]["400"]["description"], (path, method)


def test_a_retry_after_is_documented_on_every_503(document):
    for path, method, operation in _operations(document):
        assert "Retry-After" in operation["responses"]["503"].get("headers", {}), (path, method)


def test_state_changing_routes_document_their_idempotency_key(document):
    for path, method in [
        ("/api/game", "post"),
        ("/api/game/action", "post"),
        ("/api/store/purchase", "post"),
        ("/api/deposit", "post"),
        ("/api/withdraw", "post"),
        ("/api/user", "patch"),
    ]:
        operation = document["paths"][path][method]
        (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and not header["required"]
        assert header["schema"]["pattern"] == "^[A-Za-z0-9_.:-]{1,64}$"
        assert {"409", "422"} <= set(operation["responses"])
        success = next(r for code, r in operation["responses"].items() if code.startswith("2"))
        assert "Idempotent-Replayed" in success["headers"]


@pytest.mark.parametrize(
    ("path", "method", "code"),
    [
        ("/api/game", "post", "201"),
        ("/api/store/purchase", "post", "201"),
        ("/api/deposit", "post", "201"),
        ("/api/withdraw", "post", "201"),
        ("/api/auth/nonce", "post", "201"),
        ("/api/auth/logout", "post", "204"),
        ("/api/auth/verify", "post", "200"),
        ("/api/game/action", "post", "200"),
    ],
)
def test_success_codes(document, path, method, code):
    successes = [c for c in document["paths"][path][method]["responses"] if c.startswith("2")]
    assert successes == [code]
