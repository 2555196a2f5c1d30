"""The query cache: `cache_query(key, ttl, loader)` with the seed's keys and TTLs.

- O(1) invalidation: every user-scoped key embeds the generation number of the user's family of
  queries (`query:gen2:{games|wallet}:{u}`); `invalidate_user_caches` increments it, and the old keys
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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

import redis
from aws_lambda_powertools.metrics import MetricUnit

from gbc.cache import codec
from gbc.cache.client import redis_client, redis_probe_client
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
# First-page variants (filter x limit) cached per user and kind: what one write updates at most.
MAX_FIRST_PAGES = 16


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


# Bumped whenever the format of a cached user-scoped value changes: every entry of the old format is
# unreachable from the first request of the new release on (a missing generation starts afresh).
GENERATIONS = "query:gen2"


def _gen_key(family: str, user_id: uuid.UUID | str) -> str:
    return f"{GENERATIONS}:{family}:{user_id}"


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


# Besides its generation, each family has a write sequence (`query:seq:{family}:{u}`). A miss
# remembers it; the loader's value is stored only if no write hook ran since (compare-and-set), so a
# value loaded before a write committed never lands after that write's hook. Writes on the hot path
# (bets, settlements, purchases, a game's end, the stats job) then update the cached values in place
# (write-through) instead of making them unreachable; rarer writes still bump the generation.
# Keyset pages after the first (a cursor) also embed a "deep" generation that every write-through
# bumps: only the first pages are updated in place.
def _seq_key(family: str, user_id: uuid.UUID | str) -> str:
    return f"query:seq:{family}:{user_id}"


def _deep_key(family: str, user_id: uuid.UUID | str) -> str:
    return f"{GENERATIONS}:{family}.deep:{user_id}"


def _index_key(kind: str, user_id: uuid.UUID | str) -> str:
    """The set of a user's cached first pages of one kind (their key suffixes), for write-through."""
    return f"query:idx:{kind}:{user_id}"


# Generations and write sequences, shared by the scripts. A missing counter (first use, or evicted)
# starts at `seed`, the current time in microseconds, never at 0: numbers used before an eviction are
# always smaller, so old entries can never come back.
_COUNTERS = """
local function generation(name, seed)
  local value = redis.call('GET', name)
  if not value then
    redis.call('SET', name, seed, 'NX')
    value = redis.call('GET', name)
  end
  return value
end
local function bump(name, seed)
  if redis.call('SET', name, seed, 'NX') == false then redis.call('INCR', name) end
end
"""

# One round trip for a lookup: read the family's generation(s), build the key, count the lookup, read
# the value; on a miss also count it, read the write sequence and try the loader lock, so the first
# miss needs no extra round trip. (Keys are built inside the script: non-cluster Redis.)
_LOOKUP = (
    _COUNTERS
    + """
local key = ARGV[1]
if KEYS[1] ~= '' then key = key .. 'g' .. generation(KEYS[1], ARGV[3]) end
if KEYS[2] ~= '' then key = key .. '.' .. generation(KEYS[2], ARGV[3]) end
key = key .. ARGV[2]
redis.call('INCR', KEYS[4])
local value = redis.call('GET', key)
-- A first page is only good while its index lists it (write-throughs find it there), a versioned
-- value only with its version: if either was evicted, it is a miss.
-- Such an entry is deleted, so nobody waiting for a loader picks it up meanwhile.
if (value and KEYS[6] ~= '' and redis.call('SISMEMBER', KEYS[6], ARGV[2]) == 0)
    or (value and ARGV[6] == '1' and redis.call('EXISTS', key .. ':v') == 0) then
  redis.call('DEL', key)
  value = false
end
if value then return {key, value, '', 0} end
redis.call('INCR', KEYS[5])
local seq = '0'
if KEYS[3] ~= '' then seq = redis.call('GET', KEYS[3]) or '0' end
local leader = 0
if redis.call('SET', 'lock:' .. key, ARGV[4], 'NX', 'PX', ARGV[5]) then leader = 1 end
return {key, false, seq, leader}
"""
)
_INVALIDATE = (
    _COUNTERS
    + """
for i, key in ipairs(KEYS) do bump(key, ARGV[1]) end
return #KEYS
"""
)

# Store a loaded value if no write hook ran since the lookup (same sequence), register a first page
# in its index (at most MAX_FIRST_PAGES variants a user and kind: each write updates them all; past
# that a variant is simply not cached), keep a versioned value's version beside it; release the lock
# only if it is still ours (a slow loader whose lock expired must not release the next loader's).
_STORE = """
local indexed = KEYS[4] == '' or redis.call('SISMEMBER', KEYS[4], ARGV[6]) == 1
    or redis.call('SCARD', KEYS[4]) < tonumber(ARGV[8])
if ARGV[3] == '1' and indexed and (KEYS[3] == '' or (redis.call('GET', KEYS[3]) or '0') == ARGV[5]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  if KEYS[4] ~= '' then
    redis.call('SADD', KEYS[4], ARGV[6])
    redis.call('EXPIRE', KEYS[4], ARGV[2])
  end
  if ARGV[7] ~= '' then redis.call('SET', KEYS[1] .. ':v', ARGV[7], 'EX', ARGV[2]) end
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return 1
"""

# Write-through, step 1: bump the write sequence (no load that started before can store any more) and
# the deep generation, then read the entries to update: fixed key suffixes (ARGV[3..]) and every
# suffix in the listed indexes (KEYS[4..]).
_PATCH_READ = (
    _COUNTERS
    + """
bump(KEYS[2], ARGV[2])
bump(KEYS[3], ARGV[2])
local gen = generation(KEYS[1], ARGV[2])
local out = {}
local n = tonumber(ARGV[1])
for i = 1, n do
  local suffix = ARGV[2 + i]
  local key = ARGV[2 + n + i] .. 'g' .. gen .. suffix
  table.insert(out, key)
  table.insert(out, redis.call('GET', key) or '')
end
for i = 4, #KEYS do
  local prefix = ARGV[2 + 2 * n + i - 3]
  for _, suffix in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    local key = prefix .. 'g' .. gen .. suffix
    table.insert(out, key)
    table.insert(out, redis.call('GET', key) or '')
  end
end
return out
"""
)

# Step 3: if no entry changed since step 1, write the updated values (keeping their TTLs) and delete
# those that could not be updated; otherwise (a concurrent load or write) delete them all.
_PATCH_WRITE = """
local unchanged = true
for i, key in ipairs(KEYS) do
  if (redis.call('GET', key) or '') ~= ARGV[2 * i - 1] then unchanged = false end
end
for i, key in ipairs(KEYS) do
  local new = ARGV[2 * i]
  if not unchanged or new == '' then
    redis.call('DEL', key)
  elseif new ~= ARGV[2 * i - 1] then
    redis.call('SET', key, new, 'KEEPTTL')
  end
end
return unchanged and 1 or 0
"""

# A versioned value written through (the stats job): kept unless the cached one is newer. (The same
# version is the same value: stats counting the same games.)
_PUT_VERSIONED = (
    _COUNTERS
    + """
bump(KEYS[2], ARGV[5])
local key = ARGV[1] .. 'g' .. generation(KEYS[1], ARGV[5]) .. ARGV[2]
local version = redis.call('GET', key .. ':v')
if not version and redis.call('EXISTS', key) == 1 then
  -- Its version was evicted: it may be newer than ours. Drop it; the next read loads.
  redis.call('DEL', key)
  return 0
end
local current = tonumber(version or '-1')
if current <= tonumber(ARGV[4]) then
  redis.call('SET', key, ARGV[3], 'EX', ARGV[6])
  redis.call('SET', key .. ':v', ARGV[4], 'EX', ARGV[6])
  return 1
end
return 0
"""
)


def _seed() -> str:
    return str(time.time_ns() // 1000)


@lru_cache(maxsize=16)
def _script(client: redis.Redis, source: str) -> Any:
    return client.register_script(source)


class _Lookup:
    __slots__ = ("key", "leader", "raw", "seq")

    def __init__(self, key: str, raw: bytes | None, seq: str, leader: bool) -> None:
        self.key, self.raw, self.seq, self.leader = key, raw, seq, leader


def _lookup_call(q: Query[Any], token: str) -> dict[str, Any]:
    if q.user_id is None:  # global keys (an ended game, the leaderboard) have no generation
        keys = ["", "", "", LOOKUPS_KEY, MISSES_KEY, ""]
        prefix, suffix = f"query:{q.kind}:", q.rest
    else:
        family = FAMILY[q.kind]
        keys = [
            _gen_key(family, q.user_id),
            _deep_key(family, q.user_id) if q.deep else "",
            _seq_key(family, q.user_id),
            LOOKUPS_KEY,
            MISSES_KEY,
            _index_key(q.kind, q.user_id) if q.first_page else "",
        ]
        prefix, suffix = f"query:{q.kind}:", f":{q.rest}"
    versioned = "1" if q.version is not None else "0"
    return {"keys": keys, "args": [prefix, suffix, _seed(), token, LOCK_MS, versioned]}


def _found(reply: list[Any]) -> _Lookup:
    key, raw, seq, leader = reply
    return _Lookup(key.decode(), raw, seq.decode() if isinstance(seq, bytes) else str(seq), bool(leader))


@dataclass(frozen=True)
class Query(Generic[T]):
    """One cached query (what `cache_query` takes), for `cache_queries`."""

    kind: str
    rest: str
    loader: Callable[[], T]
    user_id: uuid.UUID | str | None = None
    ttl: int | None = None
    store_if: Callable[[T], bool] | None = None
    first_page: bool = False
    deep: bool = False
    version: Callable[[T], int] | None = None


def cache_query(
    kind: str,
    rest: str,
    loader: Callable[[], T],
    user_id: uuid.UUID | str | None = None,
    ttl: int | None = None,
    store_if: Callable[[T], bool] | None = None,
    *,
    first_page: bool = False,
    deep: bool = False,
    version: Callable[[T], int] | None = None,
) -> T:
    """The cached value of a query, or the loader's (cached for `ttl`, default the kind's TTL, when
    `store_if` accepts it). `first_page`: a keyset page without a cursor, which writes update in place;
    `deep`: a page after the first; `version`: the value's version, for kinds written through by version."""
    query = Query(kind, rest, loader, user_id, ttl, store_if, first_page, deep, version)
    return cache_queries(query)[0]  # type: ignore[no-any-return]


def cache_queries(*queries: Query[Any]) -> list[Any]:
    """Several cached queries, looked up in one round trip (a pipeline of lookups); misses load and
    store one by one, each exactly as `cache_query` would."""
    if not get_settings().cache_enabled or not breaker.allow():
        return [q.loader() for q in queries]
    client = redis_client()
    tokens = [uuid.uuid4().hex for _ in queries]
    lookup = _script(client, _LOOKUP)
    try:
        if len(queries) == 1:
            q = queries[0]
            replies = [lookup(**_lookup_call(q, tokens[0]))]
        else:
            calls = [_lookup_call(q, token) for q, token in zip(queries, tokens, strict=True)]
            replies = _pipelined(client, lookup, calls)
        breaker.success()
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] Redis error, answering from the database", extra={"error": repr(exc)})
        return [q.loader() for q in queries]
    return [
        _complete(client, q, _found(reply), token) for q, reply, token in zip(queries, replies, tokens, strict=True)
    ]


def _pipelined(client: redis.Redis, script: Any, calls: list[dict[str, Any]]) -> list[Any]:
    """EVALSHA calls in one round trip. (redis-py's pipelined Script objects would first ask SCRIPT
    EXISTS, a round trip of its own: load the script only when Redis says it lacks it.)"""
    for attempt in (1, 2):
        pipe = client.pipeline(transaction=False)
        for call in calls:
            pipe.evalsha(script.sha, len(call["keys"]), *call["keys"], *call["args"])
        try:
            return pipe.execute()
        except redis.exceptions.NoScriptError:
            if attempt == 2:
                raise
            client.script_load(script.script)
    raise AssertionError("unreachable")


def _complete(client: redis.Redis, q: Query[T], found: _Lookup, token: str) -> T:
    if found.raw is not None:
        logger.debug(f"[Cache] Hit: {found.key}")
        metrics.add_metric(name="CacheHit", unit=MetricUnit.Count, value=1)
        return codec.loads(found.raw)  # type: ignore[no-any-return]
    logger.info(f"[Cache] Miss: {found.key}")
    metrics.add_metric(name="CacheMiss", unit=MetricUnit.Count, value=1)
    if not found.leader:
        # Someone is loading this key right now: wait briefly for their value.
        waited = _wait_for(client, found.key)
        if waited is not None:
            return waited  # type: ignore[no-any-return]
        token = ""  # a follower never releases the leader's lock
    value = q.loader()
    try:
        store = q.store_if is None or q.store_if(value)
        index = _index_key(q.kind, q.user_id) if q.first_page and q.user_id is not None else ""
        _script(client, _STORE)(
            keys=[
                found.key,
                f"lock:{found.key}",
                _seq_key(FAMILY[q.kind], q.user_id) if q.user_id is not None else "",
                index,
            ],
            args=[
                codec.dumps(value),
                q.ttl or TTL[q.kind],
                "1" if store else "0",
                token,
                found.seq,
                f":{q.rest}",
                str(q.version(value)) if q.version is not None and store else "",
                MAX_FIRST_PAGES,
            ],
        )
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] could not store a value", extra={"error": repr(exc)})
    return value


def _wait_for(client: redis.Redis, key: str) -> Any:
    deadline = time.monotonic() + WAIT_FOR_LOADER_S
    try:
        while time.monotonic() < deadline:
            time.sleep(0.01)
            raw = client.get(key)
            if raw is not None:
                return codec.loads(raw)
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] Redis error while waiting for a loader", extra={"error": repr(exc)})
    return None


# ---------------------------------------------------------------- write-through

Patch = Callable[[str, str, Any], Any]  # (kind, key suffix, cached value) -> new value, or DROP
DROP = object()


def write_through(
    family: str,
    user_id: uuid.UUID | str,
    fixed: list[tuple[str, str]],
    first_pages: list[str],
    patch: Patch,
) -> None:
    """After a commit: update a user's cached entries of one family in place. `fixed`: (kind, rest)
    of single entries; `first_pages`: kinds whose cached first pages (all filters and limits) are
    updated. Entries not cached stay so; pages after the first become unreachable (deep generation).
    A concurrent change of an entry deletes the entries read (the next read loads); a Redis error, or
    an open circuit breaker, invalidates the whole family instead."""
    if not get_settings().cache_enabled:
        return
    if not breaker.allow():  # Redis was failing: at least try to make the old entries unreachable
        invalidate_user_caches(user_id, (family,))
        return
    client = redis_client()
    try:
        flat = _script(client, _PATCH_READ)(
            keys=[_gen_key(family, user_id), _seq_key(family, user_id), _deep_key(family, user_id)]
            + [_index_key(kind, user_id) for kind in first_pages],
            args=[len(fixed), _seed()]
            + [f":{rest}" for _, rest in fixed]
            + [f"query:{kind}:" for kind, _ in fixed]
            + [f"query:{kind}:" for kind in first_pages],
        )
        keys, args = [], []
        for i in range(0, len(flat), 2):
            key, raw = flat[i].decode(), flat[i + 1]
            if not raw:
                continue  # not cached: the next read loads it (a load that started earlier cannot store)
            kind, _, rest = key.removeprefix("query:").partition(":")
            suffix = rest.split(":", 1)[1] if ":" in rest else ""
            try:
                new = patch(kind, suffix, codec.loads(raw))
            except Exception:
                logger.exception("[Cache] write-through failed; dropping the entry", extra={"key": key})
                new = DROP
            keys.append(key)
            args += [raw, b"" if new is DROP else codec.dumps(new)]
        if keys:
            _script(client, _PATCH_WRITE)(keys=keys, args=args)
        breaker.success()
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] write-through failed; invalidating", extra={"error": repr(exc), "user": str(user_id)})
        invalidate_user_caches(user_id, (family,))


def write_through_after_commit(
    uow: UnitOfWork, family: str, user_id: uuid.UUID, fixed: list[tuple[str, str]], first_pages: list[str], patch: Patch
) -> None:
    uow.after_commit(lambda: write_through(family, user_id, fixed, first_pages, patch))
    # A COMMIT whose answer was lost may have happened: the cached copies are unknown, not updated.
    uow.if_outcome_unknown(lambda: invalidate_user_caches(user_id, (family,)))


def put_versioned(kind: str, rest: str, user_id: uuid.UUID | str, value: Any, version: int) -> None:
    """Write a value through (after a commit) unless a newer version is cached; loads that started
    before cannot store any more."""
    if not get_settings().cache_enabled:
        return
    if not breaker.allow():  # Redis was failing: at least try to make the old entries unreachable
        invalidate_user_caches(user_id, (FAMILY[kind],))
        return
    try:
        client = redis_client()
        family = FAMILY[kind]
        _script(client, _PUT_VERSIONED)(
            keys=[_gen_key(family, user_id), _seq_key(family, user_id)],
            args=[f"query:{kind}:", f":{rest}", codec.dumps(value), version, _seed(), TTL[kind]],
        )
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] write-through failed; invalidating", extra={"error": repr(exc), "user": str(user_id)})
        invalidate_user_caches(user_id, (FAMILY[kind],))


def put_global(kind: str, rest: str, value: Any) -> None:
    """Cache an immutable global value now (an ended game), so its first read is a hit."""
    if not get_settings().cache_enabled or not breaker.allow():
        return
    try:
        redis_client().set(f"query:{kind}:{rest}", codec.dumps(value), ex=TTL[kind])
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] could not store a value", extra={"error": repr(exc)})


def invalidate_user_caches(user_id: uuid.UUID | str, families: Families = ALL_FAMILIES) -> None:
    """Everything cached for a user (in those families) becomes unreachable: one INCR per family
    (or a fresh time-based generation), in one round trip, however many keys they have."""
    try:
        # With the breaker open, still try (Redis may be back) but never wait a full timeout for it.
        client = redis_probe_client() if breaker.is_open else redis_client()
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
        uow.if_outcome_unknown(lambda: invalidate_user_caches(user_id, fresh))


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
    pipe.ping()
    pipe.dbsize()
    pipe.info("memory")
    pipe.get(LOOKUPS_KEY)
    pipe.get(MISSES_KEY)
    _, total_keys, memory, lookups, misses = pipe.execute()
    lookups, misses = int(lookups or 0), int(misses or 0)
    hit_rate = round((lookups - misses) * 100 / lookups, 1) if lookups else None
    return {
        "connected": True,
        "totalKeys": total_keys,
        "memory": memory.get("used_memory_human"),
        "hitRate": hit_rate,
        "circuitOpen": breaker.is_open,
    }
