"""The query cache: exact round trips, O(1) invalidation, one loader per burst, read-your-writes
after every kind of write, and answers from the database when Redis is down."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

import gbc.cache as query_cache
from gbc.cache import cache_query, invalidate_user_caches
from gbc.cache.client import redis_client
from gbc.cache.keys import _gen_key
from gbc.data.models import GameResult
from gbc.messages import DepositEventPayload, FaucetEventPayload, StatsRecomputePayload, WithdrawEventPayload
from gbc.queue.outbox import enqueue_job
from tests.support.api import call_api
from tests.support.factories import make_funded_user, make_user
from tests.support.games import add_ended_games
from tests.support.sqs import receive, run_worker


@pytest.fixture(autouse=True)
def closed_breaker():
    query_cache.breaker.success()
    yield
    query_cache.breaker.success()


def test_values_round_trip_exactly(db):
    value = {"amount": Decimal("0.000000000000000001"), "at": datetime(2026, 1, 2, 3, 4, 5, 6, UTC), "id": uuid.uuid4()}
    calls = []
    first = cache_query("game", "rt", lambda: calls.append(1) or value)
    second = cache_query("game", "rt", lambda: calls.append(1) or value)
    assert first == second == value and len(calls) == 1
    assert isinstance(second["amount"], Decimal) and second["at"].tzinfo is not None


def _commands_to_invalidate(user) -> int:
    before = redis_client().info("stats")["total_commands_processed"]
    invalidate_user_caches(user)
    return redis_client().info("stats")["total_commands_processed"] - before


def test_invalidation_costs_the_same_however_many_keys(db):
    small, large = uuid.uuid4(), uuid.uuid4()
    cache_query("user_history", f"{small}:0", lambda: {"page": 0}, user_id=small)
    for i in range(200):
        cache_query("user_history", f"{large}:{i}", lambda i=i: {"page": i}, user_id=large)
    loads = []
    cache_query("user_history", f"{large}:5", lambda: loads.append(1) or {"page": 5}, user_id=large)
    assert loads == [], "cached"
    assert _commands_to_invalidate(small) == _commands_to_invalidate(large) <= 6
    cache_query("user_history", f"{large}:5", lambda: loads.append(1) or {"page": 5}, user_id=large)
    assert loads == [1], "a miss after invalidation"


def test_an_evicted_generation_never_brings_old_entries_back(db):
    user = uuid.uuid4()
    cache_query("wallet_summary", str(user), lambda: {"balance": "old"}, user_id=user)
    invalidate_user_caches(user)
    cache_query("wallet_summary", str(user), lambda: {"balance": "older"}, user_id=user)
    redis_client().delete(_gen_key("wallet", user))  # evicted under memory pressure
    invalidate_user_caches(user)
    assert cache_query("wallet_summary", str(user), lambda: {"balance": "new"}, user_id=user) == {"balance": "new"}


def test_a_burst_of_misses_runs_the_loader_once(db):
    calls = []
    barrier = threading.Barrier(10)

    def loader():
        calls.append(1)
        time.sleep(0.2)
        return {"v": 1}

    def read():
        barrier.wait()
        assert cache_query("game", "burst", loader) == {"v": 1}

    threads = [threading.Thread(target=read) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


def test_a_load_racing_an_invalidation_is_never_served(db):
    user = uuid.uuid4()
    started, release = threading.Event(), threading.Event()

    def slow_stale_loader():
        started.set()
        release.wait(5)
        return {"balance": "old"}

    reader = threading.Thread(target=lambda: cache_query("wallet_summary", str(user), slow_stale_loader, user_id=user))
    reader.start()
    started.wait(5)
    invalidate_user_caches(user)  # the write commits while the old read is in flight
    release.set()
    reader.join()
    fresh = cache_query("wallet_summary", str(user), lambda: {"balance": "new"}, user_id=user)
    assert fresh == {"balance": "new"}


def _warm(user):
    """Read everything cacheable once, so a stale read would show."""
    wallet = call_api("GET", "/api/wallet", user_id=user.id).body
    ledger = call_api("GET", "/api/transactions", user_id=user.id).body
    history = call_api("GET", "/api/history", user_id=user.id).body
    return wallet, ledger, history


def test_read_your_writes_purchase_and_withdrawal(db, services):
    user = make_funded_user()
    _warm(user)
    assert call_api("POST", "/api/store/purchase", body={"itemId": "chips-ceramic"}, user_id=user.id).status == 201
    wallet, ledger, _ = _warm(user)
    assert wallet["balance"] == "25" and ledger["transactions"][0]["type"] == "STORE_PURCHASE"
    response = call_api(
        "POST", "/api/withdraw", body={"amount": 5, "walletAddress": user.wallet_address}, user_id=user.id
    )
    assert response.status == 201
    wallet, ledger, _ = _warm(user)
    assert wallet["balance"] == "20" and wallet["pendingWithdrawalTotal"] == "5"
    assert ledger["transactions"][0]["type"] == "WITHDRAWAL"


def test_read_your_writes_game_end_and_stats_job(db, services):
    user = make_funded_user()
    _warm(user)
    stats_before = call_api("GET", "/api/stats", user_id=user.id).body
    game = call_api("POST", "/api/game", body={"betAmount": "10"}, user_id=user.id).body
    while game["state"] != "ENDED":
        action = "stand" if "stand" in game["legalActions"] else game["legalActions"][0]
        game = call_api("POST", "/api/game/action", body={"gameId": game["id"], "action": action}, user_id=user.id).body
    wallet, ledger, history = _warm(user)
    assert wallet["balance"] == game["balance"]
    assert sum(Decimal(t["amount"]) for t in ledger["transactions"]) == Decimal(game["balance"])
    assert [g["id"] for g in history["games"]] == [game["id"]]
    # The stats job runs behind SQS; once it has, the next read shows it.
    run_worker([m for m in receive(services["queues"]["JobsQueue"]) if "stats:recompute" in m["Body"]])
    stats = call_api("GET", "/api/stats", user_id=user.id).body
    assert stats_before["totalHands"] == 0 and stats["totalHands"] == 1
    # An ended game is cached; its details stay right.
    assert call_api("GET", f"/api/game/{game['id']}", user_id=user.id).body["result"] == game["result"]
    assert call_api("GET", f"/api/game/{game['id']}", user_id=make_user().id).status == 404


def test_read_your_writes_chain_credits_and_recompute(db, services):
    user = make_user()
    _warm(user)
    for kind, amount, log_index in ((DepositEventPayload, "7", 0), (FaucetEventPayload, "3", 1)):
        enqueue_job(
            kind(
                chainId=1,
                txHash="0x" + "cd" * 32,
                logIndex=log_index,
                blockNumber=1,
                blockHash="0x" + "1" * 64,
                address=user.wallet_address,
                amount=Decimal(amount),
            ),
        )
    run_worker(receive(services["queues"]["JobsQueue"]))
    wallet, ledger, _ = _warm(user)
    assert wallet["balance"] == "10" and wallet["totalDeposited"] == "7"
    assert {t["type"] for t in ledger["transactions"]} == {"DEPOSIT", "FAUCET"}
    add_ended_games(user.id, [GameResult.WIN])
    enqueue_job(StatsRecomputePayload(userId=user.id))
    run_worker(receive(services["queues"]["JobsQueue"]))
    assert call_api("GET", "/api/stats", user_id=user.id).body["totalHands"] == 1


def test_redis_down_answers_from_the_database_without_waiting(db, override_settings):
    user = make_funded_user()
    override_settings(REDIS_URL="redis://127.0.0.1:9/0")
    timings = []
    for _ in range(6):
        started = time.perf_counter()
        response = call_api("GET", "/api/wallet", user_id=user.id)
        timings.append(time.perf_counter() - started)
        assert response.status == 200 and response.body["balance"] == "100"
    assert query_cache.breaker.is_open
    assert max(timings[3:]) < 0.25, timings  # the breaker skips Redis: no connect attempts
    purchase = call_api("POST", "/api/store/purchase", body={"itemId": "chips-ceramic"}, user_id=user.id)
    assert purchase.status == 201


def test_health_reports_the_hit_rate(db):
    user = make_funded_user()
    for _ in range(4):
        call_api("GET", "/api/wallet", user_id=user.id)
    cache = call_api("GET", "/api/health").body["cache"]
    assert cache["hitRate"] == 75.0 and cache["totalKeys"] >= 1 and cache["connected"] is True


def test_read_your_writes_withdrawal_completed_on_chain(db, services):
    user = make_funded_user("50")
    response = call_api(
        "POST", "/api/withdraw", body={"amount": 20, "walletAddress": user.wallet_address}, user_id=user.id
    )
    nonce = int(response.body["withdrawal"]["nonce"])
    assert _warm(user)[0]["pendingWithdrawalTotal"] == "20"
    receive(services["queues"]["JobsQueue"])  # the audit job, not needed here
    enqueue_job(
        WithdrawEventPayload(
            chainId=1,
            txHash="0x" + "ef" * 32,
            logIndex=0,
            blockNumber=9,
            blockHash="0x" + "9" * 64,
            address=user.wallet_address,
            amount=Decimal(20),
            nonce=nonce,
        ),
    )
    run_worker(receive(services["queues"]["PriorityQueue"]))
    wallet = call_api("GET", "/api/wallet", user_id=user.id).body
    assert wallet["pendingWithdrawals"] == [] and wallet["balance"] == "30"


def test_a_rename_shows_on_the_leaderboard_at_once(db):
    user = make_user(username="before")
    add_ended_games(user.id, [GameResult.WIN])
    assert call_api("GET", "/api/leaderboard", query={"period": "all"}).body["players"][0]["username"] == "before"
    assert call_api("PATCH", "/api/user", body={"username": "after"}, user_id=user.id).status == 200
    assert call_api("GET", "/api/leaderboard", query={"period": "all"}).body["players"][0]["username"] == "after"


def test_a_loader_never_releases_someone_elses_lock(db):
    redis_client().set("lock:query:game:held", "someone-else", px=5000)
    # A follower waits for the holder, gives up, loads and stores by itself, and leaves the lock alone.
    assert cache_query("game", "held", lambda: {"v": 1}) == {"v": 1}
    assert redis_client().get("lock:query:game:held") == b"someone-else"
    assert cache_query("game", "held", lambda: {"v": 2}) == {"v": 1}, "the value was stored"
