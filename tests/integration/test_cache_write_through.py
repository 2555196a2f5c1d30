"""Write-through of the query cache: the hot writes (bets, payouts, purchases, a game's end, the stats
job) update the cached entries in place, so the next read is a hit and exactly what the database says;
a load that started before a write never lands after it; versions keep the newest wallet summary."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

import gbc.cache as query_cache
from gbc.cache import LOOKUPS_KEY, MISSES_KEY, cache_query, write_through
from gbc.cache.client import redis_client
from gbc.pagination import HISTORY_ORDER, insert_into_first_page
from gbc.settings import get_settings
from tests.support.api import call_api
from tests.support.factories import make_funded_user
from tests.support.sqs import receive, run_worker

READS = [
    ("/api/wallet", None),
    ("/api/transactions", {"limit": "5"}),
    ("/api/history", {"limit": "5"}),
    ("/api/history", {"limit": "5", "resultFilter": "WIN"}),
    ("/api/history", {"limit": "5", "resultFilter": "LOSE"}),
    ("/api/stats", None),
]


@pytest.fixture(autouse=True)
def closed_breaker():
    query_cache.breaker.success()
    yield
    query_cache.breaker.success()


def _counts() -> tuple[int, int]:
    lookups, misses = redis_client().mget(LOOKUPS_KEY, MISSES_KEY)
    return int(lookups or 0), int(misses or 0)


def _read_all(user) -> list:
    return [call_api("GET", path, query=query, user_id=user.id).body for path, query in READS]


def _uncached(user, monkeypatch) -> list:
    monkeypatch.setenv("CACHE_ENABLED", "false")
    get_settings.cache_clear()
    try:
        return _read_all(user)
    finally:
        monkeypatch.setenv("CACHE_ENABLED", "true")
        get_settings.cache_clear()


def _play_one_round(user) -> dict:
    game = call_api("POST", "/api/game", body={"betAmount": "1"}, user_id=user.id).body
    while game["state"] != "ENDED":
        action = "hit" if "hit" in game["legalActions"] and len(game["hands"][0]["cards"]) < 3 else "stand"
        action = action if action in game["legalActions"] else game["legalActions"][0]
        game = call_api("POST", "/api/game/action", body={"gameId": game["id"], "action": action}, user_id=user.id).body
    return game


def test_after_each_round_every_cached_read_is_a_hit_and_equals_the_database(db, services, monkeypatch):
    user = make_funded_user("1000")
    _read_all(user)  # warm: every entry cached
    for _ in range(12):
        game = _play_one_round(user)
        run_worker([m for m in receive(services["queues"]["JobsQueue"]) if "stats:recompute" in m["Body"]])
        lookups, misses = _counts()
        cached = _read_all(user)
        after = _counts()
        assert after[1] == misses, "the writes updated the cached entries in place: no miss"
        assert after[0] - lookups == len(READS) + 3, "a history read looks up its page and the stats"
        assert cached == _uncached(user, monkeypatch), "exactly what the database says"
        assert cached[0]["balance"] == game["balance"]
        assert call_api("GET", f"/api/game/{game['id']}", user_id=user.id).body["result"] == game["result"]
        assert _counts()[1] == misses, "the ended game was cached when it ended"


def test_a_purchase_is_written_through(db, services, monkeypatch):
    user = make_funded_user()
    _read_all(user)
    _, misses = _counts()
    assert call_api("POST", "/api/store/purchase", body={"itemId": "chips-ceramic"}, user_id=user.id).status == 201
    cached = _read_all(user)
    assert _counts()[1] == misses
    assert cached == _uncached(user, monkeypatch)
    assert cached[0]["balance"] == "25" and cached[1]["transactions"][0]["type"] == "STORE_PURCHASE"


def test_a_withdrawal_still_invalidates_the_wallet(db, services, monkeypatch):
    """Not on the hot path, and it changes the pending withdrawals too: the family starts over."""
    user = make_funded_user("50")
    _read_all(user)
    response = call_api(
        "POST", "/api/withdraw", body={"amount": 5, "walletAddress": user.wallet_address}, user_id=user.id
    )
    assert response.status == 201
    cached = _read_all(user)
    assert cached == _uncached(user, monkeypatch)
    assert cached[0]["pendingWithdrawalTotal"] == "5"


def test_a_load_that_started_before_a_write_through_is_not_stored(db):
    user = uuid.uuid4()
    started, release = threading.Event(), threading.Event()

    def stale_loader():
        started.set()
        release.wait(5)
        return {"v": 1, "summary": {"balance": "old"}}

    reader = threading.Thread(target=lambda: cache_query("wallet_summary", str(user), stale_loader, user_id=user))
    reader.start()
    started.wait(5)
    # The write commits and its hook runs while the stale load is in flight (nothing cached to update).
    write_through("wallet", user, [("wallet_summary", str(user))], [], lambda kind, rest, value: value)
    release.set()
    reader.join()
    loads = []
    fresh = cache_query(
        "wallet_summary", str(user), lambda: loads.append(1) or {"v": 2, "summary": {"balance": "new"}}, user_id=user
    )
    assert loads == [1] and fresh["summary"]["balance"] == "new"


def test_an_older_write_through_never_replaces_a_newer_summary(db):
    """Two balance changes of one user whose transactions' subscribers run in the opposite order."""
    from gbc.cache.sync import balance_changed
    from gbc.events import BalanceChanged

    user = uuid.uuid4()
    cache_query("wallet_summary", str(user), lambda: {"v": 5, "summary": {"balance": "5"}}, user_id=user)

    def change(version: int) -> BalanceChanged:
        entry = {"id": str(uuid.uuid4()), "sequence": version}
        zero = Decimal(0)
        return BalanceChanged(user, "GAME_BET", entry, version, Decimal(version), zero, zero)

    balance_changed([change(7)])
    balance_changed([change(6)])
    cached = cache_query("wallet_summary", str(user), lambda: pytest.fail("cached"), user_id=user)
    assert cached == {"v": 7, "summary": {"balance": "7", "totalDeposited": "0", "totalWithdrawn": "0"}}


def test_a_concurrent_change_between_read_and_write_drops_the_entry(db, monkeypatch):
    user = uuid.uuid4()
    cache_query("wallet_summary", str(user), lambda: {"v": 1, "summary": {"balance": "1"}}, user_id=user)

    def patch_while_someone_else_writes(kind, rest, value):
        key = next(k.decode() for k in redis_client().keys(f"query:wallet_summary:*{user}"))
        redis_client().set(key, b'{"v":9,"summary":{"balance":"9"}}')  # another writer got there first
        return {"v": 2, "summary": {"balance": "2"}}

    write_through("wallet", user, [("wallet_summary", str(user))], [], patch_while_someone_else_writes)
    loads = []
    cache_query("wallet_summary", str(user), lambda: loads.append(1) or {"v": 9, "summary": {}}, user_id=user)
    assert loads == [1], "neither value was kept: the next read loads"


def _row(at: datetime, n: int) -> dict:
    return {"id": str(uuid.UUID(int=n)), "endedAt": at.isoformat()}


def test_insert_into_first_page_matches_a_fresh_page():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    rows = [_row(now - timedelta(seconds=i), 100 - i) for i in range(4)]
    page = {"games": rows[:3], "nextCursor": HISTORY_ORDER.cursor_of_view(rows[2])}
    newest = _row(now + timedelta(seconds=1), 200)
    patched = insert_into_first_page(page, "games", HISTORY_ORDER, newest, 3)
    assert patched["games"] == [newest, *rows[:2]]
    assert patched["nextCursor"] == HISTORY_ORDER.cursor_of_view(rows[1])
    assert insert_into_first_page(patched, "games", HISTORY_ORDER, newest, 3) == patched, "idempotent"
    older = _row(now - timedelta(seconds=10), 1)
    assert insert_into_first_page(page, "games", HISTORY_ORDER, older, 3) is None, "belongs to a later page"
    short = {"games": rows[:2], "nextCursor": None}
    assert insert_into_first_page(short, "games", HISTORY_ORDER, older, 3) == {
        "games": [*rows[:2], older],
        "nextCursor": None,
    }


def test_a_cached_history_read_is_one_round_trip(db, services, monkeypatch):
    """The page and the stats are two entries, looked up together."""
    import redis.connection

    user = make_funded_user()
    call_api("GET", "/api/history", user_id=user.id)
    redis_client().script_flush()  # a restarted Redis: the scripts are loaded again on demand
    call_api("GET", "/api/history", user_id=user.id)
    lookups, misses = _counts()
    sends = []
    real = redis.connection.AbstractConnection.send_packed_command
    monkeypatch.setattr(
        redis.connection.AbstractConnection,
        "send_packed_command",
        lambda self, *a, **k: sends.append(1) or real(self, *a, **k),
    )
    body = call_api("GET", "/api/history", user_id=user.id).body
    assert len(sends) == 1
    monkeypatch.undo()
    assert _counts() == (lookups + 2, misses), "two lookups, both hits"
    assert body["stats"]["totalHands"] == 0 and body["games"] == []


def _count_sends(monkeypatch) -> list:
    import redis.connection

    sends: list = []
    real = redis.connection.AbstractConnection.send_packed_command
    monkeypatch.setattr(
        redis.connection.AbstractConnection,
        "send_packed_command",
        lambda self, *a, **k: sends.append(1) or real(self, *a, **k),
    )
    return sends


@pytest.mark.parametrize("scripts_flushed", [False, True])
def test_a_rounds_end_writes_every_cached_entry_through_in_two_round_trips(db, services, monkeypatch, scripts_flushed):
    """The wallet, the ledger's and the history's first pages and the ended game: one transaction's
    events are written together (read all, then write all), also after Redis forgot its scripts."""
    user = make_funded_user("1000")
    _read_all(user)
    while True:  # a round still open after the deal, to end it with one stand
        game = call_api("POST", "/api/game", body={"betAmount": "1"}, user_id=user.id).body
        if game["state"] != "ENDED" and game["phase"] == "PLAYER_TURN" and len(game["hands"]) == 1:
            break
        while game["state"] != "ENDED":
            body = {"gameId": game["id"], "action": game["legalActions"][0]}
            game = call_api("POST", "/api/game/action", body=body, user_id=user.id).body
    _read_all(user)
    if scripts_flushed:
        redis_client().script_flush()  # a restarted Redis: the scripts are loaded again, once
    from gbc.realtime import pushes

    # Not the cache's: the push check runs after the response (here, inline before call_api returns).
    checks: list = []
    monkeypatch.setattr(pushes, "_send_to_listeners", checks.append)
    sends = _count_sends(monkeypatch)
    ended = call_api("POST", "/api/game/action", body={"gameId": game["id"], "action": "stand"}, user_id=user.id)
    assert ended.status == 200 and ended.body["state"] == "ENDED"
    # After a flush each of the two pipelines meets NOSCRIPT once: the script is loaded, the pipeline run again.
    assert len(sends) == (6 if scripts_flushed else 2), "one round trip to read, one to write"
    assert len(checks) == 1 and any(m["type"] == "game.ended" for m in checks[0]), "one send, after the response"
    monkeypatch.undo()
    run_worker([m for m in receive(services["queues"]["JobsQueue"]) if "stats:recompute" in m["Body"]])
    _, misses = _counts()
    cached = _read_all(user)
    assert _counts()[1] == misses, "every entry was updated in place"
    assert cached == _uncached(user, monkeypatch)
    assert cached[0]["balance"] == ended.body["balance"]
    assert call_api("GET", f"/api/game/{game['id']}", user_id=user.id).body["result"] == ended.body["result"]
    assert _counts()[1] == misses, "the ended game was cached when it ended"


def test_a_write_while_the_breaker_is_open_still_makes_old_entries_unreachable(db, services, monkeypatch):
    user = make_funded_user()
    _read_all(user)
    for _ in range(3):
        query_cache.breaker.failure()  # Redis looked sick a moment ago
    assert call_api("POST", "/api/store/purchase", body={"itemId": "chips-ceramic"}, user_id=user.id).status == 201
    query_cache.breaker.success()  # and is fine again
    cached = _read_all(user)
    assert cached == _uncached(user, monkeypatch)
    assert cached[0]["balance"] == "25"


def test_an_evicted_index_or_version_makes_the_entry_a_miss(db, services):
    """Write-throughs find first pages through their index and order stats by a version key: an entry
    whose index entry or version was evicted could miss a later write, so it is not served."""
    user = make_funded_user()
    call_api("GET", "/api/history", user_id=user.id)
    redis_client().delete(f"query:idx:user_history:{user.id}")
    version_keys = [k for k in redis_client().keys(f"query:user_stats:*{user.id}:v")]
    assert len(version_keys) == 1
    redis_client().delete(*version_keys)
    lookups, misses = _counts()
    call_api("GET", "/api/history", user_id=user.id)
    assert _counts() == (lookups + 2, misses + 2)
    lookups, misses = _counts()
    call_api("GET", "/api/history", user_id=user.id)
    assert _counts() == (lookups + 2, misses), "stored again, with its index entry and version"


def test_an_entry_rejected_for_a_lost_index_is_gone_before_its_loader_runs(db, services, monkeypatch):
    """A reader waiting for that loader must not be handed the rejected (possibly stale) entry."""
    user = make_funded_user()
    call_api("GET", "/api/history", user_id=user.id)
    redis_client().delete(f"query:idx:user_history:{user.id}")
    page_keys = [k for k in redis_client().keys(f"query:user_history:*{user.id}:*") if not k.endswith(b":v")]
    assert len(page_keys) == 1
    seen_while_loading = []
    from gbc.history import service

    real = service._load_history

    def loader(*args, **kwargs):
        seen_while_loading.append(redis_client().get(page_keys[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "_load_history", loader)
    call_api("GET", "/api/history", user_id=user.id)
    assert seen_while_loading == [None]


def test_an_older_stats_write_never_replaces_a_value_whose_version_was_evicted(db):
    user = uuid.uuid4()
    query_cache.put_versioned("user_stats", str(user), user, {"totalHands": 8}, 8)
    redis_client().delete(*[k for k in redis_client().keys(f"query:user_stats:*{user}:v")])
    query_cache.put_versioned("user_stats", str(user), user, {"totalHands": 7}, 7)  # a late hook
    fresh = cache_query("user_stats", str(user), lambda: {"totalHands": 8}, user_id=user, version=lambda v: 8)
    assert fresh == {"totalHands": 8}


def test_first_page_variants_are_capped_per_user(db, services):
    user = make_funded_user()
    for limit in range(1, query_cache.MAX_FIRST_PAGES + 6):
        assert call_api("GET", "/api/transactions", query={"limit": str(limit)}, user_id=user.id).status == 200
    assert redis_client().scard(f"query:idx:transactions:{user.id}") == query_cache.MAX_FIRST_PAGES
    lookups, misses = _counts()
    body = call_api("GET", "/api/transactions", query={"limit": str(query_cache.MAX_FIRST_PAGES + 3)}, user_id=user.id)
    assert body.status == 200 and len(body.body["transactions"]) == 1
    assert _counts() == (lookups + 1, misses + 1), "past the cap a variant is answered, not cached"


def test_with_the_breaker_open_a_write_does_not_wait_for_a_silent_redis(db, services, monkeypatch):
    """A Redis that accepts connections and never answers (a partition): the after-commit
    invalidation gives up in tens of milliseconds, not the full timeout."""
    import socket
    import time as clock

    from tests.conftest import reset_clients

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    user = make_funded_user()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
    reset_clients()
    try:
        for _ in range(3):
            query_cache.breaker.failure()
        started = clock.perf_counter()
        response = call_api("POST", "/api/store/purchase", body={"itemId": "chips-ceramic"}, user_id=user.id)
        elapsed = clock.perf_counter() - started
    finally:
        monkeypatch.undo()
        reset_clients()
        silent.close()
    assert response.status == 201
    assert elapsed < get_settings().redis_timeout, f"{elapsed:.3f}s: waited for Redis"
