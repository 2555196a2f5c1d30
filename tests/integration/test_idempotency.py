"""Idempotency-Key: a retried state-changing request gets its first answer, never a second effect,
even when the first request's COMMIT reached the database and its answer was lost."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from devstack.apigw import rest_event
from devstack.runtime import LocalContext
from gbc.data.models import Purchase
from gbc.data.transaction import unit_of_work
from gbc.wallet.service import ledger_total
from tests.support.factories import make_funded_user
from tests.support.shoes import stack


def _event(user, path: str, body: dict, key: str | None, method: str = "POST") -> dict:
    headers = {"Content-Type": ["application/json"]}
    if key is not None:
        headers["Idempotency-Key"] = [key]
    return rest_event(method, path, headers=headers, body=json.dumps(body), authorizer={"userId": str(user.id)})


def _post(user, path: str, body: dict, key: str | None, method: str = "POST") -> tuple[int, dict, dict]:
    import api_app

    event = _event(user, path, body, key, method)
    result = api_app.lambda_handler(event, LocalContext("ApiFunction", 1024, 30))
    headers_out = {
        **(result.get("headers") or {}),
        **{k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()},
    }
    return result["statusCode"], json.loads(result["body"]), headers_out


def _purchases(user) -> int:
    with unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(Purchase).where(Purchase.user_id == user.id))


PURCHASE = {"itemId": "card-back-midnight", "quantity": 1}  # 25 GBC


def test_a_retried_purchase_with_the_same_key_is_answered_again_not_bought_again(db):
    user = make_funded_user("100")
    first = _post(user, "/api/store/purchase", PURCHASE, "buy-1")
    again = _post(user, "/api/store/purchase", PURCHASE, "buy-1")
    assert first[0] == again[0] == 201
    assert again[1] == first[1] and again[2].get("Idempotent-Replayed") == "true"
    assert _purchases(user) == 1 and ledger_total(user.id) == Decimal(first[1]["balance"])
    other = _post(user, "/api/store/purchase", PURCHASE, "buy-2")
    assert other[0] == 201 and _purchases(user) == 2, "another key is another purchase"


def test_a_key_reused_for_a_different_request_is_422(db):
    user = make_funded_user("100")
    assert _post(user, "/api/store/purchase", PURCHASE, "k")[0] == 201
    code, body, _ = _post(user, "/api/store/purchase", {**PURCHASE, "quantity": 2}, "k")
    assert code == 422 and "different request" in body["error"]
    assert _purchases(user) == 1


def test_keys_are_per_user_and_a_failed_request_stores_nothing(db):
    poor, rich = make_funded_user("5"), make_funded_user("100")
    assert _post(poor, "/api/store/purchase", PURCHASE, "same")[0] == 402
    assert _post(rich, "/api/store/purchase", PURCHASE, "same")[0] == 201, "another user's key"
    assert _post(poor, "/api/store/purchase", PURCHASE, "same")[0] == 402, "the failure ran again, not replayed"


@pytest.mark.parametrize("key", ["", "x" * 65, "spaces are not allowed", "nul\u0000"])
def test_a_malformed_key_is_a_400(db, key):
    user = make_funded_user("100")
    code, body, _ = _post(user, "/api/store/purchase", PURCHASE, key)
    assert code == 400 and body["details"][0].startswith("Idempotency-Key")
    assert _purchases(user) == 0


def test_a_retried_game_action_is_one_move(db, monkeypatch):
    stack(monkeypatch, "2", "9", "3", "8", "4", "5", "6")
    user = make_funded_user("100")
    game = _post(user, "/api/game", {"betAmount": "10"}, "deal-1")[1]
    assert _post(user, "/api/game", {"betAmount": "10"}, "deal-1")[1]["id"] == game["id"], "one deal"
    hit = {"gameId": game["id"], "action": "hit"}
    first = _post(user, "/api/game/action", hit, "hit-1")
    again = _post(user, "/api/game/action", hit, "hit-1")
    assert first[0] == again[0] == 200 and again[1] == first[1]
    assert len(first[1]["hands"][0]["cards"]) == 3, "one card dealt, not two"


def _at_once(events: list[dict]) -> list[int]:
    """The events' status codes, each invoked at the same moment in its own API container (a
    process, as in Lambda: one resolver never serves two requests at a time)."""
    from devstack.containers import ContainerPool
    from devstack.template import Function

    fn = Function("ApiFunction", "api_app.lambda_handler", 30, 1024)
    pool = ContainerPool({"ApiFunction": fn}, {}, size=len(events))
    try:
        health = rest_event("GET", "/api/health")
        warm = [threading.Thread(target=pool.invoke, args=("ApiFunction", health)) for _ in events]
        for t in warm:
            t.start()
        for t in warm:
            t.join()
        barrier = threading.Barrier(len(events))
        answers: list[int] = []

        def invoke(event: dict) -> None:
            barrier.wait()
            answers.append(pool.invoke("ApiFunction", event)["statusCode"])

        threads = [threading.Thread(target=invoke, args=(e,)) for e in events]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        pool.stop()
    return answers


def test_concurrent_duplicates_apply_once(db):
    user = make_funded_user("100")
    answers = _at_once([_event(user, "/api/store/purchase", PURCHASE, "burst") for _ in range(4)])
    assert answers == [201] * 4 and _purchases(user) == 1


@pytest.fixture
def commit_answer_lost(monkeypatch):
    """Once armed, the next COMMIT reaches the database, and then the connection drops before its answer."""
    import pg8000.legacy

    real = pg8000.legacy.Connection.commit
    state = {"armed": False}

    def commit_then_drop(self):
        real(self)
        if state["armed"]:
            state["armed"] = False
            raise pg8000.legacy.InterfaceError("network error")

    monkeypatch.setattr(pg8000.legacy.Connection, "commit", commit_then_drop)
    return lambda: state.update(armed=True)


def test_a_purchase_whose_commit_answer_was_lost_is_safe_to_retry_with_its_key(db, commit_answer_lost):
    user = make_funded_user("100")
    commit_answer_lost()
    code, body, headers = _post(user, "/api/store/purchase", PURCHASE, "lost-1")
    assert code == 503 and headers.get("Retry-After") == "2" and "Idempotency-Key" in body["error"]
    assert _purchases(user) == 1, "it was committed"
    code, body, headers = _post(user, "/api/store/purchase", PURCHASE, "lost-1")
    assert code == 201 and headers.get("Idempotent-Replayed") == "true"
    assert _purchases(user) == 1 and ledger_total(user.id) == Decimal(body["balance"])


def test_without_a_key_a_lost_commit_answer_never_invites_a_blind_retry(db, commit_answer_lost):
    user = make_funded_user("100")
    commit_answer_lost()
    code, body, headers = _post(user, "/api/store/purchase", PURCHASE, None)
    assert code == 503 and "Retry-After" not in headers
    assert "may or may not" in body["error"]


def test_the_sweep_prunes_keys_older_than_a_day(db):
    import outbox_sweep_app
    from sqlalchemy import text

    user = make_funded_user("100")
    _post(user, "/api/store/purchase", PURCHASE, "old")
    _post(user, "/api/store/purchase", PURCHASE, "new")
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old'")
        )
    assert (
        outbox_sweep_app.lambda_handler({}, LocalContext("OutboxSweepFunction", 512, 60))["idempotencyKeysPruned"] == 1
    )


def test_a_failing_statement_inside_a_keyed_request_still_gets_its_clear_answer(db, monkeypatch):
    """The second game's unique-key violation rolls back to a savepoint: the 409 can still name the
    open game (a query after the failed statement, in the same request-wide transaction)."""
    stack(monkeypatch, "2", "9", "3", "8")
    user = make_funded_user("100")
    first = _post(user, "/api/game", {"betAmount": "10"}, "deal-a")
    code, body, _ = _post(user, "/api/game", {"betAmount": "10"}, "deal-b")
    assert code == 409 and body["details"]["gameId"] == first[1]["id"]
    assert ledger_total(user.id) == Decimal(90), "one bet"


def test_a_keyed_request_that_swallowed_a_failed_part_never_commits_its_after_commit_work(db):
    """Jobs enqueued in a part that rolled back must not be sent: such a request is refused whole."""
    from gbc.data.transaction import shared_unit_of_work
    from gbc.messages import AuditLogPayload
    from gbc.queue.outbox import enqueue_job

    sent: list[str] = []
    with pytest.raises(RuntimeError), shared_unit_of_work() as outer:
        outer.after_commit(lambda: sent.append("outer"))
        try:
            with unit_of_work() as part:
                enqueue_job(AuditLogPayload(action="rolled.back", resource="user"), part)
                raise ValueError("this part fails")
        except ValueError:
            pass  # swallowed: the request would go on as if nothing happened
    assert sent == []
    with unit_of_work() as uow:
        from sqlalchemy import text

        assert uow.session.execute(text("SELECT count(*) FROM outbox")).scalar() == 0


def test_two_keyed_updates_of_one_user_never_deadlock(db):
    """A key's row does not lock the user's row: two keyed PATCH /api/user of one user both succeed."""
    user = make_funded_user("100")
    events = [
        _event(user, "/api/user", {"settings": {"soundEnabled": bool(i)}}, f"rename-{i}", "PATCH") for i in range(2)
    ]
    assert _at_once(events) == [200, 200]


def test_a_duplicate_waits_at_most_the_lock_timeout_for_a_first_still_running(db):
    """The first request's claim is held (its transaction still open): the duplicate answers 409 with
    a clear reason after the lock timeout instead of waiting as long as the first lives."""
    from sqlalchemy import text

    from gbc.api import idempotency

    user = make_funded_user("100")
    fingerprint = "0" * 64
    with unit_of_work() as first:
        first.session.execute(
            text("INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES (:u, 'slow', :f)"),
            {"u": user.id, "f": fingerprint},
        )
        first.session.flush()
        original = idempotency._CLAIM_WAIT
        idempotency._CLAIM_WAIT = text("SET LOCAL lock_timeout = '200ms'")
        try:
            code, body, _ = _post(user, "/api/store/purchase", PURCHASE, "slow")
        finally:
            idempotency._CLAIM_WAIT = original
        first.session.rollback()
    assert code == 409 and "in progress" in body["error"]
    assert _purchases(user) == 0


def test_a_read_whose_commit_answer_was_lost_is_a_plain_retryable_503(db, commit_answer_lost):
    user = make_funded_user("100")
    commit_answer_lost()
    import api_app

    event = rest_event("GET", "/api/wallet", headers={}, authorizer={"userId": str(user.id)})
    result = api_app.lambda_handler(event, LocalContext("ApiFunction", 1024, 30))
    headers = {k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
    assert result["statusCode"] == 503 and headers.get("Retry-After") == "2"


def test_a_lost_commit_makes_the_cached_wallet_unreachable(db, commit_answer_lost):
    user = make_funded_user("100")
    from tests.support.api import call_api

    assert call_api("GET", "/api/wallet", user_id=user.id).body["balance"] == "100"  # cached
    commit_answer_lost()
    assert _post(user, "/api/store/purchase", PURCHASE, "lost-cache")[0] == 503
    assert call_api("GET", "/api/wallet", user_id=user.id).body["balance"] == "75", "not the stale 100"
