"""GET /api/health, and the scheduled functions invoked with their events/ files."""

from __future__ import annotations

import json

import pytest

from devstack.runtime import LocalContext
from tests.conftest import ROOT
from tests.support.api import call_api
from tests.support.factories import make_user


def _event(name: str) -> dict:
    return json.loads((ROOT / "events" / name).read_text())


def test_health_reports_every_dependency(db):
    response = call_api("GET", "/api/health")
    assert response.status == 200
    body = response.body
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["cache"]["connected"] and body["queue"]["available"]
    assert {"waiting", "active", "delayed"} <= set(body["queue"])
    assert "totalKeys" in body["cache"] and "memory" in body["cache"]
    assert "postgres" not in json.dumps(body), "no URLs or secrets in the health report"


def test_health_degrades_instead_of_failing_when_redis_is_down(db, override_settings):
    override_settings(REDIS_URL="redis://127.0.0.1:1/0")
    response = call_api("GET", "/api/health")
    assert response.status == 200
    assert response.body["status"] == "degraded"
    assert response.body["cache"]["ok"] is False
    assert response.body["database"]["ok"] is True


@pytest.mark.parametrize(
    ("module", "event", "expected"),
    [
        ("chain_poller_app", "schedule_chain_poller.json", {"chainId": 31337}),
        ("nightly_stats_app", "schedule_nightly_stats.json", {"activeUsers": 2}),
        (
            "outbox_sweep_app",
            "schedule_outbox_sweep.json",
            {"sent": 0, "revocationsPruned": 0, "idempotencyKeysPruned": 0},
        ),
    ],
)
def test_scheduled_functions_run_with_their_sample_events(db, module, event, expected):
    import importlib

    make_user()
    make_user()
    handler = importlib.import_module(module).lambda_handler
    result = handler(_event(event), LocalContext(module, 1024, 30))
    assert expected.items() <= result.items()


def test_worker_sample_event_is_processed(db):
    import worker_app

    result = worker_app.lambda_handler(_event("worker_sqs_audit.json"), LocalContext("WorkerFunction", 1024, 30))
    assert result == {"batchItemFailures": []}


def test_auth_sample_event_answers(db):
    import auth_app

    response = auth_app.lambda_handler(_event("auth_nonce.json"), LocalContext("AuthFunction", 1024, 30))
    assert response["statusCode"] == 201 and "Nonce: " in json.loads(response["body"])["message"]


def test_api_sample_events_answer(db):
    import api_app

    health = api_app.lambda_handler(_event("api_health.json"), LocalContext("ApiFunction", 1024, 30))
    assert health["statusCode"] == 200
    # The sample names a user that does not exist here: a clean 401 (sign in again), not an error.
    update = api_app.lambda_handler(_event("api_user_update.json"), LocalContext("ApiFunction", 1024, 30))
    assert update["statusCode"] == 401
