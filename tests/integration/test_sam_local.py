"""What `sam local start-api --env-vars env.sam-local.json` needs, tested without Docker: the env file
names only variables the template declares (SAM ignores the others) and points at the local stack as
a container sees it; every API route has an event in events/ whose method and path are the route's;
and each event, run through the real handler the way `make invoke` does (devstack's Runtime), reaches
its route."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from devstack.runtime import Runtime
from devstack.template import load_raw, load_stack
from gbc import secret_store
from gbc.settings import Settings
from tests.conftest import ROOT
from tests.support.factories import make_funded_user
from tests.support.shoes import stack

STACK = load_stack()
RAW = load_raw()
ENV_FILE = json.loads((ROOT / "env.sam-local.json").read_text())
CONTAINER_HOST = "host.docker.internal"


def _api_events() -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(method, resource) -> (file name, event) for every REST API event in events/."""
    found: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for path in sorted((ROOT / "events").glob("*.json")):
        event = json.loads(path.read_text())
        if "httpMethod" in event and "resource" in event:
            key = (event["httpMethod"], event["resource"])
            assert key not in found, f"{path.name} and {found[key][0]} are both {key}"
            found[key] = (path.name, event)
    return found


EVENTS = _api_events()
ROUTES = {(r.method, r.path): r for r in STACK.routes}


def _declared_variables() -> set[str]:
    declared = set(RAW["Globals"]["Function"]["Environment"]["Variables"])
    for resource in RAW["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            declared |= set(resource["Properties"].get("Environment", {}).get("Variables", {}))
    return declared


def test_the_env_file_names_only_variables_the_template_declares():
    assert set(ENV_FILE) == {"Parameters"}  # one section: every function gets the same
    undeclared = set(ENV_FILE["Parameters"]) - _declared_variables()
    assert not undeclared, f"SAM would silently ignore {undeclared}: declare them in Globals"
    assert all(isinstance(v, str) for v in ENV_FILE["Parameters"].values())


def test_the_env_file_points_at_the_local_stack_as_a_container_sees_it():
    env = ENV_FILE["Parameters"]
    # The queues and the table are the ones `make dev` creates (devstack's names), on the host.
    local = load_stack(sqs_endpoint=f"http://{CONTAINER_HOST}:9324").environment
    for name in ("JOBS_QUEUE_URL", "PRIORITY_QUEUE_URL", "JOBS_DLQ_URL", "PRIORITY_DLQ_URL", "EVENTS_QUEUE_URL"):
        assert env[name] == local[name], name
    assert env["REALTIME_TABLE"] == local["REALTIME_TABLE"]
    for name in ("DATABASE_URL", "REDIS_URL", "SQS_ENDPOINT_URL", "DYNAMODB_ENDPOINT_URL", "CHAIN_RPC_URL"):
        assert f"//{CONTAINER_HOST}:" in env[name] or f"@{CONTAINER_HOST}:" in env[name], name
        assert "localhost" not in env[name] and "127.0.0.1" not in env[name], f"{name}: the container itself"


def test_the_env_file_makes_the_functions_read_local_secrets_not_aws(monkeypatch):
    for name, value in ENV_FILE["Parameters"].items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    # The template's ARNs are overridden with "" (unset): no Secrets Manager or SSM call is made.
    assert (settings.jwt_secret_arn, settings.db_secret_arn, settings.signer_key_parameter) == (None, None, None)
    assert secret_store.jwt_secret(settings) == ENV_FILE["Parameters"]["JWT_SECRET"]
    assert secret_store.signer_private_key(settings) == ENV_FILE["Parameters"]["SIGNER_PRIVATE_KEY"]
    assert settings.database_url is not None and settings.app_env == "local" and settings.db_ssl == "disable"


def test_every_api_route_has_an_event_and_every_event_is_a_route():
    assert set(ROUTES) - set(EVENTS) == set(), "routes without an event file in events/"
    assert set(EVENTS) - set(ROUTES) == set(), "events for routes the template does not have"


@pytest.mark.parametrize("key", sorted(EVENTS), ids=lambda k: f"{k[0]} {k[1]}")
def test_each_event_is_shaped_like_api_gateways_for_its_route(key):
    name, event = EVENTS[key]
    route = ROUTES[key]
    placeholders = re.findall(r"\{(\w+)\}", route.path)
    assert sorted(event.get("pathParameters") or {}) == sorted(placeholders), name
    pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(route.path))
    assert re.fullmatch(pattern, event["path"]), name
    context = event["requestContext"]
    assert (context["httpMethod"], context["resourcePath"]) == key, name
    # What the authorizer adds reaches only the protected routes (API Gateway adds none to public ones).
    assert (context.get("authorizer") is not None) == (route.authorizer is not None), name


def _as_user(event: dict[str, Any], user: Any, game_id: str | None) -> dict[str, Any]:
    """The event as the authorizer would pass it for this user (and this game, for the game routes)."""
    sample_wallet = (event["requestContext"].get("authorizer") or {}).get("walletAddress")
    if sample_wallet:  # the player's wallet wherever the sample names its own (a withdrawal's address)
        event = json.loads(json.dumps(event).replace(sample_wallet, user.wallet_address))
        event["requestContext"]["authorizer"].update(principalId=str(user.id), userId=str(user.id))
    event = json.loads(json.dumps(event))
    if game_id is not None:
        text = json.dumps(event)
        sample = (event.get("pathParameters") or {}).get("gameId")
        sample = sample or json.loads(event.get("body") or "{}").get("gameId")
        if sample:
            event = json.loads(text.replace(sample, game_id))
    return event


def test_each_event_reaches_its_route_through_the_real_handler(db, monkeypatch):
    stack(monkeypatch, "10", "9", "Q", "8")  # player 20 vs dealer 17: no blackjack, standing ends the round
    runtime = Runtime(STACK.functions)
    user = make_funded_user("100")
    answers: dict[tuple[str, str], tuple[int, Any]] = {}

    def invoke(key: tuple[str, str], game_id: str | None = None) -> tuple[int, Any]:
        _, event = EVENTS[key]
        response = runtime.invoke(ROUTES[key].function, _as_user(event, user, game_id))
        body: Any = response.get("body")
        if body and body.lstrip().startswith(("{", "[")):  # JSON; /api/docs answers a page
            body = json.loads(body)
        answers[key] = (response["statusCode"], body)
        return answers[key]

    # A round first (dealt, then stood on), so that the game routes find an ended game of this user.
    status, created = invoke(("POST", "/api/game"))
    assert status == 201, created
    game_id = created["game"]["id"] if "game" in created else created["id"]
    invoke(("POST", "/api/game/action"), game_id)
    for key in sorted(set(EVENTS) - set(answers)):
        invoke(key, game_id)
    for key, (status, body) in answers.items():
        assert status < 500, (key, status, body)
        assert (status, body) != (404, {"error": "Not found"}), f"{key} matched no route of its function"
    # The routes whose sample is valid as it is answer with success.
    succeeded = {key for key, (status, _) in answers.items() if status < 300}
    expected = {
        ("GET", "/api/health"),
        ("GET", "/api/docs"),
        ("GET", "/api/store/items"),
        ("GET", "/api/game/{gameId}"),
        ("GET", "/api/wallet"),
        ("GET", "/api/stats"),
        ("GET", "/api/history"),
        ("GET", "/api/transactions"),
        ("POST", "/api/game/action"),
        ("POST", "/api/deposit"),
        ("POST", "/api/store/purchase"),
    }
    assert expected <= succeeded, {k: answers[k] for k in expected - succeeded}
