"""The read path: `cache_query` / `cache_queries`, one round trip per lookup, one loader per burst of
misses, a value stored only if no write ran since its lookup."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis
from aws_lambda_powertools.metrics import MetricUnit

from gbc.cache import codec
from gbc.cache.breaker import breaker
from gbc.cache.client import redis_client
from gbc.cache.keys import (
    FAMILY,
    LOCK_MS,
    LOOKUPS_KEY,
    MAX_FIRST_PAGES,
    MISSES_KEY,
    TTL,
    WAIT_FOR_LOADER_S,
    _deep_key,
    _gen_key,
    _index_key,
    _seq_key,
    prefix_of,
)
from gbc.cache.scripts import _LOOKUP, _STORE, _script, _seed
from gbc.observability import logger, metrics
from gbc.settings import get_settings

T = TypeVar("T")


class _Lookup:
    __slots__ = ("key", "leader", "raw", "seq")

    def __init__(self, key: str, raw: bytes | None, seq: str, leader: bool) -> None:
        self.key, self.raw, self.seq, self.leader = key, raw, seq, leader


def _lookup_call(q: Query[Any], token: str) -> dict[str, Any]:
    if q.user_id is None:  # global keys (an ended game, the leaderboard) have no generation
        keys = ["", "", "", LOOKUPS_KEY, MISSES_KEY, ""]
        prefix, suffix = prefix_of(q.kind), q.rest
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
        prefix, suffix = prefix_of(q.kind), f":{q.rest}"
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
