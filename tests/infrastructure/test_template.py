"""template.yaml and the code agree: handlers exist, API routes match the resolver's, queues have
DLQs, workers report partial failures, and every environment name is a setting."""

from __future__ import annotations

import importlib
import json

import pytest

from devstack.template import load_raw, load_stack
from gbc.settings import Settings

STACK = load_stack()
RAW = load_raw()


def test_every_handler_imports():
    for fn in STACK.functions.values():
        module, attr = fn.handler.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), attr)), fn.logical_id


@pytest.mark.parametrize(("function", "module"), [("ApiFunction", "api_app"), ("AuthFunction", "auth_app")])
def test_template_routes_and_resolver_routes_are_the_same(function, module):
    app = importlib.import_module(module).app
    template_routes = {(r.method, r.path) for r in STACK.routes if r.function == function}
    resolver_routes = {(route.method, route.path) for route in [*app._static_routes, *app._dynamic_routes]}
    if getattr(app, "pending_docs_path", None):  # /api/docs is set up by its first request
        resolver_routes.add(("GET", app.pending_docs_path))
    # Powertools keeps path templates as the developer wrote them (<gameId>); API Gateway uses {gameId}.
    resolver_routes = {(method, path.replace("<", "{").replace(">", "}")) for method, path in resolver_routes}
    assert template_routes == resolver_routes


def test_only_health_and_docs_are_public():
    public = {r.path for r in STACK.routes if r.authorizer is None}
    assert public == {
        "/api/health",
        "/api/docs",
        "/api/store/items",
        "/api/leaderboard",
        "/api/auth/nonce",
        "/api/auth/verify",
    }


def test_each_queue_has_a_dlq_after_eight_receives():
    for name in ("JobsQueue", "PriorityQueue"):
        policy = json.loads(STACK.queues[name].attributes["RedrivePolicy"])
        assert policy["maxReceiveCount"] == 8  # the retry budget outlasts a 60 s outage (test_retry_budget)
        assert policy["deadLetterTargetArn"].endswith(STACK.queues[name].name + "-dlq")


def test_workers_report_partial_batch_failures():
    readers = {m.queue: m.function for m in STACK.mappings}
    assert readers == {
        "JobsQueue": "WorkerFunction",
        "PriorityQueue": "WorkerFunction",
        "EventsQueue": "NotifierFunction",
    }
    for mapping in STACK.mappings:
        assert mapping.report_failures
        assert 2 <= mapping.max_concurrency <= 10
    events = json.loads(STACK.queues["EventsQueue"].attributes["RedrivePolicy"])
    assert events["deadLetterTargetArn"].endswith("-events-dlq"), "a push that keeps failing stops"


def test_the_realtime_functions_run_outside_the_vpc_and_the_websocket_routes_reach_them():
    for name in ("RealtimeFunction", "NotifierFunction"):
        vpc = RAW["Resources"][name]["Properties"]["VpcConfig"]
        assert vpc == {"SubnetIds": [], "SecurityGroupIds": []}, name
    assert {key: r.function for key, r in STACK.websocket_routes.items()} == {
        "$connect": "RealtimeFunction",
        "$disconnect": "RealtimeFunction",
        "ping": "RealtimeFunction",
    }
    assert STACK.tables["RealtimeTable"].ttl_attribute == "expiresAt"


def test_schedules():
    expressions = {s.function: s.expression for s in STACK.schedules}
    assert expressions == {
        "OutboxSweepFunction": "rate(1 minute)",
        "NightlyStatsFunction": "cron(0 3 * * ? *)",
        "ChainPollerFunction": "rate(1 minute)",
    }


def test_environment_names_are_settings():
    names = set(RAW["Globals"]["Function"]["Environment"]["Variables"])
    powertools = {n for n in names if n.startswith("POWERTOOLS_")} | {"LOG_LEVEL"}
    fields = {(f.validation_alias or name).upper() for name, f in Settings.model_fields.items()}
    assert names - powertools <= fields, names - powertools - fields


def test_api_gateway_answers_in_the_apis_error_shape():
    from devstack.apigw import gateway_response

    responses = STACK.gateway_responses
    assert gateway_response(responses, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")[0] == 404
    status, headers, body = gateway_response(responses, "THROTTLED", "Too Many Requests")
    assert (status, dict(headers)["Retry-After"], json.loads(body)) == (429, "1", {"error": "Too many requests"})
    # A type without an entry of its own falls back to DEFAULT_4XX, with the message as a JSON string.
    responses = {k: v for k, v in responses.items() if k != "UNAUTHORIZED"}
    assert json.loads(gateway_response(responses, "UNAUTHORIZED", 'say "hi"')[2]) == {"error": 'say "hi"'}
    assert gateway_response(STACK.gateway_responses, "AUTHORIZER_CONFIGURATION_ERROR", "x")[0] == 503


def test_every_gateway_answer_and_the_preflight_carry_cors_for_the_configured_origin():
    """API Gateway's own answers (the authorizer's 401/403, 404, 413, 429, 5xx) and its preflight
    name the first of AllowedOrigins, which the functions get as CORS_ALLOWED_ORIGINS."""
    stack = load_stack(parameters={"AllowedOrigins": "https://play.example.com,https://admin.example.com"})
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED", "ACCESS_DENIED"):
        assert kind in stack.gateway_responses
    for kind, response in stack.gateway_responses.items():
        assert response.headers["Access-Control-Allow-Origin"] == "https://play.example.com", kind
        assert json.loads(response.template.replace("$context.error.messageString", '"m"'))["error"], kind
    assert stack.cors is not None and stack.cors.allow_origin == "https://play.example.com"
    assert {"Authorization", "Content-Type", "Idempotency-Key"} <= set(stack.cors.allow_headers.split(","))
    assert stack.environment["CORS_ALLOWED_ORIGINS"] == "https://play.example.com,https://admin.example.com"
    auth = RAW["Resources"]["Api"]["Properties"]["Auth"]
    assert auth["AddDefaultAuthorizerToCorsPreflight"] is False, "a preflight carries no token"
