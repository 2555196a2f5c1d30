"""The query cache: `cache_query(key, ttl, loader)` with the seed's keys and TTLs.

- O(1) invalidation: every user-scoped key embeds the generation number of the user's family of
  queries (`query:gen:{games|wallet}:{u}`); `invalidate_user_caches` increments it, and the old keys
  are never read again (their TTL cleans them up). No KEYS, no SCAN.
- One loader per burst of misses on a key: the first miss takes a short lock (SET NX PX), the others
  wait briefly for its value and only load themselves if it does not come.
- Never stale after a write: invalidation runs after the commit, and a loader that started before it
  writes under the old generation, which nobody reads any more.
- Redis trouble never fails a request: the loader answers, and a circuit breaker skips Redis for a
  while after a few consecutive errors so requests do not each wait for a timeout.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import redis
from aws_lambda_powertools.metrics import MetricUnit

from gbc.cache import codec
from gbc.cache.client import redis_client
from gbc.data.transaction import UnitOfWork
from gbc.observability import logger, metrics
from gbc.settings import get_settings

T = TypeVar("T")

# The seed's TTLs, in seconds.
TTL = {
    "user_stats": 300,
    "user_history": 120,
    "wallet_summary": 60,
    "game": 3600,
    "transactions": 300,
    "leaderboard": 600,
}

LOOKUPS_KEY = "cache:stats:lookups"
MISSES_KEY = "cache:stats:misses"
LOCK_MS = 5000
WAIT_FOR_LOADER_S = 1.0


class CircuitBreaker:
    """Open after `threshold` consecutive failures; half-open (one trial) after `cooldown` seconds."""

    def __init__(self, threshold: int = 3, cooldown: float = 10.0) -> None:
        self.threshold, self.cooldown = threshold, cooldown
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if time.monotonic() - self._opened_at >= self.cooldown:
                self._opened_at = time.monotonic()  # one trial per cooldown
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at = 0, None

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold:
                if self._opened_at is None:
                    logger.warning("[Cache] Redis unavailable: answering from the database for a while")
                self._opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None


breaker = CircuitBreaker()


# A user's cached queries fall in two families, each with its own generation, so a bet (money moved)
# does not throw away the game history, and a finished game's stats do not throw away the wallet.
FAMILY = {"user_stats": "games", "user_history": "games", "wallet_summary": "wallet", "transactions": "wallet"}
Families = tuple[str, ...]
ALL_FAMILIES: Families = ("games", "wallet")


def _gen_key(family: str, user_id: uuid.UUID | str) -> str:
    return f"query:gen:{family}:{user_id}"


class Keys:
    """The seed's key builders; user-scoped ones are completed with the user's generation."""

    @staticmethod
    def user_stats(user_id: uuid.UUID | str) -> tuple[str, str]:
        return "user_stats", str(user_id)

    @staticmethod
    def user_history(user_id: uuid.UUID | str, cursor: str | None, result_filter: str, limit: int) -> tuple[str, str]:
        return "user_history", f"{user_id}:{cursor or 'start'}:{result_filter}:{limit}"

    @staticmethod
    def wallet_summary(user_id: uuid.UUID | str) -> tuple[str, str]:
        return "wallet_summary", str(user_id)

    @staticmethod
    def transactions(user_id: uuid.UUID | str, cursor: str | None, limit: int) -> tuple[str, str]:
        return "transactions", f"{user_id}:{cursor or 'start'}:{limit}"


# One round trip for a user-scoped lookup: read the family's generation, build the key, count the
# lookup, read the value. (The key is built inside the script, which assumes non-cluster Redis.)
# A missing generation (first use, or evicted) starts at the current time in microseconds, never at
# 0: numbers used before an eviction are always smaller, so old entries can never come back.
_LOOKUP = """
local generation = redis.call('GET', KEYS[1])
if not generation then
  generation = ARGV[3]
  redis.call('SET', KEYS[1], generation, 'NX')
  generation = redis.call('GET', KEYS[1])
end
local key = ARGV[1] .. generation .. ARGV[2]
redis.call('INCR', KEYS[2])
return {key, redis.call('GET', key)}
"""
_INVALIDATE = """
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[1], 'NX') == false then redis.call('INCR', key) end
end
return #KEYS
"""


# Store the value and release the lock only if it is still ours (a slow loader whose lock expired
# must not release the next loader's).
_STORE = """
if ARGV[3] == '1' then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return 1
"""


def _seed() -> str:
    return str(time.time_ns() // 1000)


@lru_cache(maxsize=8)
def _script(client: redis.Redis, source: str) -> Any:
    return client.register_script(source)


def _lookup(client: redis.Redis, kind: str, rest: str, user_id: uuid.UUID | str | None) -> tuple[str, bytes | None]:
    if user_id is None:  # global keys (an ended game, the leaderboard) have no generation
        key = f"query:{kind}:{rest}"
        raw, _ = client.pipeline(transaction=False).get(key).incr(LOOKUPS_KEY).execute()
        return key, raw
    key, raw = _script(client, _LOOKUP)(
        keys=[_gen_key(FAMILY[kind], user_id), LOOKUPS_KEY], args=[f"query:{kind}:g", f":{rest}", _seed()]
    )
    return key.decode(), raw


def cache_query(
    kind: str,
    rest: str,
    loader: Callable[[], T],
    user_id: uuid.UUID | str | None = None,
    ttl: int | None = None,
    store_if: Callable[[T], bool] | None = None,
) -> T:
    """The cached value of a query, or the loader's (cached for `ttl`, default the kind's TTL, when
    `store_if` accepts it)."""
    if not get_settings().cache_enabled or not breaker.allow():
        return loader()
    client = redis_client()
    try:
        key, raw = _lookup(client, kind, rest, user_id)
        breaker.success()
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] Redis error, answering from the database", extra={"error": repr(exc)})
        return loader()
    if raw is not None:
        logger.debug(f"[Cache] Hit: {key}")
        metrics.add_metric(name="CacheHit", unit=MetricUnit.Count, value=1)
        return codec.loads(raw)  # type: ignore[no-any-return]
    logger.info(f"[Cache] Miss: {key}")
    metrics.add_metric(name="CacheMiss", unit=MetricUnit.Count, value=1)
    return _load_once(client, key, ttl or TTL[kind], loader, store_if)


def _load_once(
    client: redis.Redis, key: str, ttl: int, loader: Callable[[], T], store_if: Callable[[T], bool] | None
) -> T:
    lock, token = f"lock:{key}", uuid.uuid4().hex
    try:
        client.incr(MISSES_KEY)
        leader = bool(client.set(lock, token, nx=True, px=LOCK_MS))
        if not leader:
            token = ""  # a follower never releases the leader's lock
            deadline = time.monotonic() + WAIT_FOR_LOADER_S
            while time.monotonic() < deadline:
                time.sleep(0.01)
                raw = client.get(key)
                if raw is not None:
                    return codec.loads(raw)  # type: ignore[no-any-return]
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] Redis error while loading", extra={"error": repr(exc)})
        return loader()
    value = loader()
    try:
        store = "1" if store_if is None or store_if(value) else "0"
        _script(client, _STORE)(keys=[key, lock], args=[codec.dumps(value), ttl, store, token])
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] could not store a value", extra={"error": repr(exc)})
    return value


def invalidate_user_caches(user_id: uuid.UUID | str, families: Families = ALL_FAMILIES) -> None:
    """Everything cached for a user (in those families) becomes unreachable: one INCR per family
    (or a fresh time-based generation), in one round trip, however many keys they have."""
    try:
        client = redis_client()
        _script(client, _INVALIDATE)(keys=[_gen_key(f, user_id) for f in families], args=[_seed()])
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning(
            "[Cache] invalidation failed; entries expire by TTL", extra={"error": repr(exc), "user": str(user_id)}
        )


def invalidate_after_commit(uow: UnitOfWork, user_id: uuid.UUID, families: Families = ALL_FAMILIES) -> None:
    """Invalidate a user's caches once the transaction commits (once per transaction, user, family)."""
    pending: set[tuple[uuid.UUID, str]] = uow.info.setdefault("invalidate_users", set())
    fresh = tuple(f for f in families if (user_id, f) not in pending)
    if fresh:
        pending.update((user_id, f) for f in fresh)
        uow.after_commit(lambda: invalidate_user_caches(user_id, fresh))


def invalidate_game_caches(game_id: uuid.UUID | str, user_id: uuid.UUID | str) -> None:
    try:
        redis_client().delete(f"query:game:{game_id}")
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] invalidation failed", extra={"error": repr(exc), "game": str(game_id)})
    invalidate_user_caches(user_id, ("games",))


def invalidate_leaderboards() -> None:
    """A renamed player shows under the new name at once (three keys, whatever the board holds)."""
    try:
        redis_client().delete(*(f"query:leaderboard:{period}" for period in ("daily", "weekly", "all")))
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] invalidation failed", extra={"error": repr(exc), "what": "leaderboard"})


def cache_stats() -> dict[str, Any]:
    """{connected, totalKeys, memory, hitRate} for GET /api/health."""
    client = redis_client()
    pipe = client.pipeline(transaction=False)
    _, total_keys, memory, lookups, misses = (
        pipe.ping().dbsize().info("memory").get(LOOKUPS_KEY).get(MISSES_KEY).execute()
    )
    lookups, misses = int(lookups or 0), int(misses or 0)
    hit_rate = round((lookups - misses) * 100 / lookups, 1) if lookups else None
    return {
        "connected": True,
        "totalKeys": total_keys,
        "memory": memory.get("used_memory_human"),
        "hitRate": hit_rate,
        "circuitOpen": breaker.is_open,
    }
