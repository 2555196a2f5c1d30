"""Hostile input: every bad request is a clear JSON 4xx (never a 5xx or a stack trace), a statement
that fails mid-protocol never poisons a pooled connection, and a database outage answers 503."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text, update

from devstack.apigw import rest_event
from devstack.runtime import LocalContext
from gbc.data.models import TransactionType, User
from gbc.data.transaction import unit_of_work
from gbc.ledger import apply_balance_change
from tests.support.api import call_api
from tests.support.factories import make_funded_user, make_user


def _raw(method: str, path: str, body: bytes | str | None, content_type: str | None, user_id: uuid.UUID, **kw):
    import api_app

    headers = {"Content-Type": [content_type]} if content_type else {}
    event = rest_event(method, path, headers=headers, body=body, authorizer={"userId": str(user_id)}, **kw)
    result = api_app.lambda_handler(event, LocalContext("ApiFunction", 1024, 30))
    return result["statusCode"], json.loads(result["body"]), result.get("headers") or {}


def _cursor(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


SOME_ID = str(uuid.uuid4())
BAD_BODIES = [
    pytest.param(b'{"betAmount": "\xff"}', "application/json", 400, id="invalid UTF-8"),
    pytest.param('{"betAmount": "1"}'.encode("utf-16"), "application/json", 400, id="UTF-16"),
    pytest.param('{"betAmount": "1"}', "application/json; charset=utf-16", 415, id="charset UTF-16"),
    pytest.param('{"betAmount": "1"}', "text/plain", 415, id="text/plain"),
    pytest.param("<bet>1</bet>", "application/xml", 415, id="xml"),
    pytest.param("betAmount=1", "application/x-www-form-urlencoded", 415, id="form"),
    pytest.param("[" * 5000 + "]" * 5000, "application/json", 400, id="nested 5,000 deep"),
    pytest.param('{"a":' * 40 + "1" + "}" * 40, "application/json", 400, id="nested 40 objects deep"),
    pytest.param("[" * 10000 + "]" * 10000, "application/json", 413, id="nested 10,000 deep"),
    pytest.param('{"betAmount": "1", "x": "' + "a" * 20000 + '"}', "application/json", 413, id="too large"),
    pytest.param('["betAmount"]', "application/json", 400, id="an array"),
    pytest.param('"betAmount"', "application/json", 400, id="a string"),
    pytest.param("{", "application/json", 400, id="truncated"),
    pytest.param('{"betAmount": NaN}', "application/json", 400, id="NaN"),
    pytest.param('{"betAmount": "1", "clientSeed": "a\\u0000b"}', "application/json", 400, id="NUL in a value"),
    pytest.param('{"betAmount": "1", "a\\u0000": 1}', "application/json", 400, id="NUL in a key"),
    pytest.param('{"betAmount": "1", "clientSeed": "\\ud800"}', "application/json", 400, id="lone surrogate"),
]


@pytest.mark.parametrize(("body", "content_type", "status"), BAD_BODIES)
def test_a_bad_body_is_a_clear_4xx_before_anything_runs(db, body, content_type, status):
    user = make_funded_user()
    code, answer, _ = _raw("POST", "/api/game", body, content_type, user.id)
    assert code == status, answer
    assert isinstance(answer["error"], str) and "Traceback" not in json.dumps(answer)
    assert call_api("GET", "/api/game/active", user_id=user.id).status == 404, "no game was created"


BAD_CURSORS = [
    pytest.param(_cursor({"t": "9999-12-31T23:59:59-05:00", "id": SOME_ID}), id="year 9999 at UTC-5"),
    pytest.param(_cursor({"t": "0001-01-01T00:00:00+05:00", "id": SOME_ID}), id="year 1 at UTC+5"),
    pytest.param(_cursor({"t": "2026-01-01T00:00:00", "id": SOME_ID}), id="no offset"),
    pytest.param(_cursor({"t": "2026-01-01T00:00:00+00:00", "id": 5}), id="id a number"),
    pytest.param(_cursor({"t": "2026-01-01T00:00:00+00:00", "id": [1]}), id="id a list"),
    pytest.param(_cursor({"t": 5, "id": SOME_ID}), id="time a number"),
    pytest.param(_cursor({"t": "yesterday", "id": SOME_ID}), id="time not ISO"),
    pytest.param(_cursor({"t": "2026-01-01T00:00:00\u0000+00:00", "id": SOME_ID}), id="NUL inside the time"),
    pytest.param(_cursor({"t": "2026-01-01T00:00:00+00:00", "id": SOME_ID + "\u0000"}), id="NUL inside the id"),
    pytest.param(_cursor({"t": "2026-01-01T00:00:00+00:00", "id": SOME_ID, "x": 1}), id="an extra field"),
    pytest.param(_cursor([1, 2]), id="a list"),
    pytest.param(_cursor({"s": -1}), id="sequence negative"),
    pytest.param(_cursor({"s": 2**63}), id="sequence past BIGINT"),
    pytest.param(_cursor({"s": True}), id="sequence a boolean"),
    pytest.param(_cursor({"s": 1.5}), id="sequence a float"),
    pytest.param(_cursor({"s": "1"}), id="sequence a string"),
    pytest.param("%%%not-base64", id="not base64"),
    pytest.param("A" * 511, id="long garbage"),
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
@pytest.mark.parametrize("path", ["/api/history", "/api/transactions"])
def test_a_crafted_cursor_is_a_400_naming_the_cursor(db, path, cursor):
    user = make_funded_user()
    answer = call_api("GET", path, query={"cursor": cursor}, user_id=user.id)
    assert answer.status == 400, answer.body
    assert answer.body["error"] == "Validation failed" and answer.body["details"][0].startswith("cursor: ")


@pytest.mark.parametrize(
    ("method", "path", "query", "path_parameters"),
    [
        ("GET", "/api/history", {"resultFilter": "WIN\x00"}, None),
        ("GET", "/api/transactions", {"cursor": "a\x00"}, None),
        ("GET", "/api/game/%FF", None, {"gameId": "\xff"}),
        ("GET", "/api/game/x%00", None, {"gameId": "x\x00"}),
    ],
)
def test_parameters_postgresql_cannot_store_are_refused(db, method, path, query, path_parameters):
    user = make_funded_user()
    code, answer, _ = _raw(
        method,
        path,
        None,
        None,
        user.id,
        query={k: [v] for k, v in (query or {}).items()},
        path_parameters=path_parameters,
        resource="/api/game/{gameId}" if path_parameters else None,
    )
    assert code == 400, answer


def test_unknown_paths_and_methods_are_404_in_the_api_shape(db):
    user = make_funded_user()
    for method, path in [("GET", "/api/nope"), ("DELETE", "/api/wallet"), ("GET", "/api/game/a/b/c")]:
        answer = call_api(method, path, user_id=user.id)
        assert (answer.status, answer.body) == (404, {"error": "Not found"}), (method, path)


def test_a_signed_in_caller_whose_user_is_missing_is_401_and_an_inactive_one_403(db):
    ghost = uuid.uuid4()
    for method, path, body in [
        ("POST", "/api/game", {"betAmount": "1"}),
        ("POST", "/api/store/purchase", {"itemId": "card-back-classic"}),
        ("POST", "/api/deposit", {"amount": "1", "currency": "GBC"}),
        ("GET", "/api/wallet", None),
    ]:
        answer = call_api(method, path, body=body, user_id=ghost)
        assert answer.status == 401, (path, answer.body)
    user = make_funded_user()
    with unit_of_work() as uow:
        uow.session.execute(update(User).where(User.id == user.id).values(is_active=False))
    assert call_api("POST", "/api/game", body={"betAmount": "1"}, user_id=user.id).status == 403


def test_money_in_error_details_is_the_api_money_format(db):
    user = make_user(balance=Decimal(0))
    answer = call_api("POST", "/api/game", body={"betAmount": "5"}, user_id=user.id)
    assert answer.status == 402
    assert answer.body["details"] == {"balance": "0", "required": "5"}


def test_a_long_or_unstorable_user_agent_never_fails_the_audit_job(db, services):
    import api_app

    from tests.support.sqs import receive, run_worker

    user = make_funded_user()
    event = rest_event(
        "PATCH",
        "/api/user",
        headers={"Content-Type": ["application/json"], "User-Agent": ["x\x00\ud800" + "y" * 2000]},
        body=json.dumps({"username": "agent_" + uuid.uuid4().hex[:6]}),
        authorizer={"userId": str(user.id)},
    )
    result = api_app.lambda_handler(event, LocalContext("ApiFunction", 1024, 30))
    assert result["statusCode"] == 200, result["body"]
    report = run_worker(receive(services["queues"]["JobsQueue"]))
    assert report["batchItemFailures"] == []
    with unit_of_work() as uow:
        agent = uow.session.execute(text("SELECT user_agent FROM audit_logs WHERE user_id = :u"), {"u": user.id})
        stored = agent.scalar_one()
    assert len(stored) == 512 and "\x00" not in stored


# ---------------------------------------------------------------- connection safety
@pytest.fixture
def one_connection(db, override_settings):
    """The API's own engine with a pool of exactly one connection, so a poisoned connection would be
    the very next one every request gets."""
    override_settings(DB_POOL_SIZE=1)
    from gbc.data.database import get_engine

    get_engine().pool._max_overflow = 0  # type: ignore[attr-defined]
    return get_engine()


@pytest.mark.parametrize(
    "poison",
    [
        pytest.param(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))), id="datetime overflow"),
        pytest.param("\ud800", id="lone surrogate"),
        pytest.param("a\x00b", id="NUL"),
    ],
)
def test_a_statement_that_fails_after_parse_never_poisons_the_next_users_answers(one_connection, poison):
    users = [make_funded_user(str(10 + i)) for i in range(3)]
    # Any failure mid-protocol, whatever its type.
    with pytest.raises(Exception), unit_of_work() as uow:
        uow.session.execute(text("SELECT CAST(:v AS text)"), {"v": poison}).all()
    for user in users:
        page = call_api("GET", "/api/transactions", user_id=user.id)
        assert page.status == 200, page.body
        ids = [row["id"] for row in page.body["transactions"]]
        with unit_of_work() as uow:
            owners = uow.session.execute(
                text("SELECT DISTINCT user_id FROM transactions WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}
            ).scalars()
            assert list(owners) == [user.id]


def test_a_failed_statement_retires_only_its_own_connection(db):
    from gbc.data.database import get_engine

    engine = get_engine()
    with pytest.raises(Exception), unit_of_work() as uow:
        uow.session.execute(text("SELECT CAST(:v AS text)"), {"v": "\ud800"}).all()
    with unit_of_work() as uow:
        assert uow.session.execute(text("SELECT 41 + 1")).scalar() == 42
    assert engine.pool.checkedout() == 0


# ---------------------------------------------------------------- outages
@pytest.fixture
def database_down(db, override_settings):
    """The functions pointed at a port where no database listens."""
    override_settings(DATABASE_URL="postgresql://postgres@127.0.0.1:9/none", DB_CONNECT_TIMEOUT=1)


def test_a_database_outage_answers_503_with_retry_after(database_down):
    user_id = uuid.uuid4()
    for method, path, body in [
        ("GET", "/api/wallet", None),
        ("POST", "/api/game", {"betAmount": "1"}),
        ("GET", "/api/transactions", None),
    ]:
        answer = call_api(method, path, body=body, user_id=user_id)
        assert answer.status == 503, (path, answer.body)
        assert answer.headers.get("Retry-After") == "2"


def test_health_is_503_when_the_database_is_unreachable(database_down):
    answer = call_api("GET", "/api/health")
    assert answer.status == 503
    assert answer.body["status"] == "unavailable" and answer.body["database"]["ok"] is False
    assert "database" in answer.body["failing"]


def test_health_is_200_degraded_listing_what_is_down(db, override_settings):
    override_settings(REDIS_URL="redis://127.0.0.1:9/0")
    answer = call_api("GET", "/api/health")
    assert answer.status == 200 and answer.body["status"] == "degraded"
    assert answer.body["failing"] == ["cache"]


# ---------------------------------------------------------------- ledger order
def test_the_ledger_lists_a_strict_balance_chain_after_splits_doubles_and_insurance(db, monkeypatch):
    from tests.support.shoes import stack

    user = make_funded_user("1000")

    def play(*ranks: str, first: list[tuple[str, dict | None]]) -> None:
        """The given actions, then double whenever allowed, else stand, until the round ends."""
        stack(monkeypatch, *ranks)
        game = call_api("POST", "/api/game", body={"betAmount": "10"}, user_id=user.id).body
        queue = list(first)
        while game["state"] != "ENDED":
            legal = game["legalActions"]
            action, payload = (
                queue.pop(0)
                if queue
                else next((a, None) for a in ("double_down", "split_stand", "stand") if a in legal)
            )
            body = {"gameId": game["id"], "action": action, **({"payload": payload} if payload else {})}
            answer = call_api("POST", "/api/game/action", body=body, user_id=user.id)
            assert answer.status == 200, answer.body
            game = answer.body

    play("8", "6", "8", "10", "3", "3", "10", "10", first=[("split", None)])  # split eights, both doubled
    play("6", "A", "5", "9", "10", first=[("insurance", {"amount": "5"})])  # insurance, then a double
    play("5", "9", "6", "8", "10", first=[])  # a plain double
    with unit_of_work() as uow:
        apply_balance_change(uow, user.id, TransactionType.ADMIN_ADJUSTMENT, Decimal(1), f"late:{user.id}")
    rows: list[dict] = []
    cursor = None
    while True:
        page = call_api(
            "GET", "/api/transactions", query={"limit": "3", **({"cursor": cursor} if cursor else {})}, user_id=user.id
        ).body
        rows.extend(page["transactions"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    types = {r["type"] for r in rows}
    assert len(rows) >= 10 and {"GAME_BET", "GAME_WIN", "ADMIN_ADJUSTMENT"} <= types, [r["type"] for r in rows]
    for newer, older in itertools.pairwise(rows):
        assert newer["sequence"] > older["sequence"]
        assert Decimal(newer["balanceBefore"]) == Decimal(older["balanceAfter"]), (newer, older)
    assert Decimal(rows[-1]["balanceBefore"]) == 0
    wallet = call_api("GET", "/api/wallet", user_id=user.id).body
    assert Decimal(rows[0]["balanceAfter"]) == Decimal(wallet["balance"])
    created = [datetime.fromisoformat(r["createdAt"]) for r in rows]
    assert created == sorted(created, reverse=True) and len(set(created)) == len(created), "distinct times"
    assert all(t.tzinfo is not None and t <= datetime.now(UTC) for t in created)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/deposit", {"amount": "1" + "0" * 25, "currency": "GBC"}),
        ("/api/withdraw", {"amount": "1e30", "walletAddress": "0x" + "ab" * 20}),
        ("/api/game", {"betAmount": "9" * 22}),
        ("/api/game", {"betAmount": 1e400}),
        ("/api/store/purchase", {"itemId": "card-back-classic", "quantity": 10**30}),
    ],
)
def test_amounts_beyond_what_the_columns_hold_are_a_400(db, path, body):
    user = make_funded_user()
    answer = call_api("POST", path, body=body, user_id=user.id)
    assert answer.status == 400, answer.body


def test_money_near_the_columns_limit_is_exact_end_to_end(db):
    """Python's default 28 digits would round a debit, a refund or a voucher's wei (gbc/__init__.py)."""
    from gbc.wallet.service import WEI

    huge = "99999999999999999999.999999999999999999"
    user = make_funded_user("1")
    answer = call_api(
        "POST", "/api/withdraw", body={"amount": huge, "walletAddress": user.wallet_address}, user_id=user.id
    )
    assert answer.status == 402, answer.body

    amount = Decimal("1234567890123456789.123456789012345671")
    rich = make_funded_user(str(amount * 2))
    answer = call_api(
        "POST", "/api/withdraw", body={"amount": str(amount), "walletAddress": rich.wallet_address}, user_id=rich.id
    )
    assert answer.status == 201, answer.body
    assert Decimal(answer.body["balance"]) == amount
    assert (
        int(answer.body["voucher"]["message"]["amount"]) == int(amount * WEI) == 1234567890123456789123456789012345671
    )
    with unit_of_work() as uow:
        debit = uow.session.execute(
            text("SELECT amount FROM transactions WHERE user_id = :u AND type = 'WITHDRAWAL'"), {"u": rich.id}
        ).scalar_one()
        held = uow.session.execute(
            text("SELECT amount FROM withdrawals WHERE user_id = :u"), {"u": rich.id}
        ).scalar_one()
    assert debit == -amount and held == amount


def test_a_json_media_type_in_any_spelling_is_accepted(db):
    user = make_funded_user()
    code, answer, _ = _raw(
        "POST",
        "/api/deposit",
        json.dumps({"amount": "1", "currency": "GBC"}),
        'Application/JSON; Charset="UTF-8"',
        user.id,
    )
    assert code == 201, answer


@pytest.mark.parametrize(
    ("url", "sqlstate"),
    [
        ("postgresql://nobody_here@127.0.0.1:5432/test", "28000"),
        ("postgresql://postgres@127.0.0.1:5432/no_such_db", "3D000"),
    ],
)
def test_wrong_credentials_or_database_are_a_configuration_error_not_an_outage(db, override_settings, url, sqlstate):
    from gbc.data.database import get_engine
    from gbc.data.outage import is_transient_database_error

    override_settings(DATABASE_URL=url)
    with pytest.raises(Exception) as raised, get_engine().connect():
        pass
    assert sqlstate in str(raised.value) and not is_transient_database_error(raised.value)
    assert call_api("GET", "/api/wallet", user_id=uuid.uuid4()).status == 500
