"""The write path: write-through of hot-path changes, versioned puts, global entries, and O(1)
invalidation by generation. Called after commit by the cache's event subscribers (gbc.cache.sync)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import redis

from gbc.cache import codec
from gbc.cache.breaker import breaker
from gbc.cache.client import redis_client, redis_probe_client
from gbc.cache.keys import (
    ALL_FAMILIES,
    FAMILY,
    TTL,
    Families,
    Keys,
    _deep_key,
    _gen_key,
    _index_key,
    _seq_key,
    global_key,
    parse_user_key,
    prefix_of,
)
from gbc.cache.scripts import _INVALIDATE, _PATCH_READ, _PATCH_WRITE, _PUT_VERSIONED, _script, _seed
from gbc.observability import logger
from gbc.settings import get_settings

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
            + [prefix_of(kind) for kind, _ in fixed]
            + [prefix_of(kind) for kind in first_pages],
        )
        keys, args = [], []
        for i in range(0, len(flat), 2):
            key, raw = flat[i].decode(), flat[i + 1]
            if not raw:
                continue  # not cached: the next read loads it (a load that started earlier cannot store)
            kind, suffix = parse_user_key(key)
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
            args=[prefix_of(kind), f":{rest}", codec.dumps(value), version, _seed(), TTL[kind]],
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
        redis_client().set(global_key(kind, rest), codec.dumps(value), ex=TTL[kind])
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


def invalidate_leaderboards() -> None:
    """A renamed player shows under the new name at once (three keys, whatever the board holds)."""
    try:
        keys = (Keys.leaderboard(period) for period in ("daily", "weekly", "all"))
        redis_client().delete(*(global_key(kind, rest) for kind, rest in keys))
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] invalidation failed", extra={"error": repr(exc), "what": "leaderboard"})
