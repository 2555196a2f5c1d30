"""CORS: a browser on an allowed origin (CORS_ALLOWED_ORIGINS) can read every answer of the API
function, success, domain error, validation error, or a refusal before routing; any other origin
gets no CORS header, so its browser shows it nothing."""

from __future__ import annotations

import pytest

from gbc.api.resolver import cors_config
from tests.support.api import call_api
from tests.support.factories import make_funded_user

ALLOWED = "https://play.example.com"  # the second origin of the tests' list (tests/conftest.py)


def _cors(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


@pytest.mark.parametrize(
    ("method", "path", "body", "raw", "status"),
    [
        ("GET", "/api/wallet", None, None, 200),
        ("POST", "/api/game", {"betAmount": "0"}, None, 400),  # refused by the domain (bet limits)
        ("POST", "/api/game", {"betAmount": "abc"}, None, 400),  # validation
        ("POST", "/api/game", None, "{not json", 400),  # refused by the request guard, before routing
        ("GET", "/api/game/00000000-0000-0000-0000-000000000000", None, None, 404),
        ("GET", "/api/nowhere", None, None, 404),
    ],
)
def test_an_allowed_origin_can_read_every_answer(db, services, method, path, body, raw, status):
    user = make_funded_user()
    response = call_api(method, path, body=body, raw_body=raw, user_id=user.id, headers={"Origin": ALLOWED})
    assert response.status == status, response.body
    cors = _cors(response)
    assert cors["Access-Control-Allow-Origin"] == ALLOWED
    assert "Idempotency-Key" in cors["Access-Control-Allow-Headers"]
    assert "Retry-After" in cors["Access-Control-Expose-Headers"]


def test_another_origin_gets_no_cors_headers(db, services):
    user = make_funded_user()
    for origin in ("https://evil.example", "https://play.example.com.evil.example", "null"):
        response = call_api("GET", "/api/wallet", user_id=user.id, headers={"Origin": origin})
        assert response.status == 200 and _cors(response) == {}


def test_the_api_function_answers_a_preflight_for_an_allowed_origin(db, services):
    """API Gateway answers preflights itself (the template's Cors); the function does too, for a
    deployment that routes OPTIONS to it."""
    response = call_api(
        "OPTIONS",
        "/api/game/action",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
    )
    assert response.status == 204
    assert _cors(response)["Access-Control-Allow-Origin"] == ALLOWED


def test_the_origins_come_from_configuration():
    assert cors_config(()) is None, "no origins configured: no CORS at all"
    config = cors_config(("https://a.example", "https://b.example"))
    assert config is not None
    assert config.to_dict("https://b.example")["Access-Control-Allow-Origin"] == "https://b.example"
    assert config.to_dict("https://c.example") == {}
