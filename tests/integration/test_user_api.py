"""PATCH /api/user: validation before any DB access, identity from the authorizer, clear 4xx."""

from __future__ import annotations

import uuid

from tests.support.api import call_api
from tests.support.factories import make_user


def test_validation_failure_names_each_field(db):
    user = make_user()
    response = call_api(
        "PATCH", "/api/user", body={"username": "a", "email": "nope", "settings": {"volume": 3}}, user_id=user.id
    )
    assert response.status == 400
    assert response.body["error"] == "Validation failed"
    assert sorted(response.body["details"]) == [
        "email: value is not a valid email address: An email address must have an @-sign.",
        "settings.volume: Extra inputs are not permitted",
        "username: String should have at least 3 characters",
    ]


def test_unparseable_body_is_a_400(db):
    response = call_api("PATCH", "/api/user", raw_body="{not json", user_id=make_user().id)
    assert response.status == 400
    assert response.body == {"error": "Validation failed", "details": ["body: is not valid JSON"]}


def test_a_user_id_that_is_not_the_caller_is_forbidden(db):
    user = make_user()
    response = call_api("PATCH", "/api/user", body={"userId": str(uuid.uuid4()), "username": "eve"}, user_id=user.id)
    assert response.status == 403
    same = call_api("PATCH", "/api/user", body={"userId": str(user.id), "username": "eve"}, user_id=user.id)
    assert same.status == 200


def test_no_authorizer_context_is_unauthorized(db):
    assert call_api("PATCH", "/api/user", body={"username": "mallory"}).status == 401


def test_email_clash_is_a_409(db):
    make_user(email="a@example.com")
    response = call_api("PATCH", "/api/user", body={"email": "a@example.com"}, user_id=make_user().id)
    assert response.status == 409
    assert response.body["details"] == {"field": "email"}


def test_settings_merge_with_what_was_there(db):
    user = make_user(settings={"musicEnabled": True})
    response = call_api("PATCH", "/api/user", body={"settings": {"soundEnabled": False}}, user_id=user.id)
    assert response.body["settings"] == {"musicEnabled": True, "soundEnabled": False}
    assert response.body["balance"] == "0"


def test_openapi_document_lists_the_routes(db):
    response = call_api("GET", "/api/docs", query={"format": "json"})
    assert response.status == 200
    paths = response.body["paths"]
    assert {"/api/health", "/api/user"} <= set(paths)
    assert "patch" in paths["/api/user"]
    # The caller, their session and the sender are dependencies, not parameters of the request.
    assert [p["name"] for p in paths["/api/wallet"]["get"]["parameters"]] == ["userId"]
    assert [p["name"] for p in paths["/api/user"]["patch"].get("parameters", [])] == ["Idempotency-Key"]
    assert "parameters" not in paths["/api/auth/logout"]["post"]
    assert [p["name"] for p in paths["/api/game/{gameId}"]["get"]["parameters"]] == ["gameId"]
