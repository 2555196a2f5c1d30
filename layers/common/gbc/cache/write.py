"""The write path: write-through of hot-path changes, versioned puts, global entries, and O(1)
invalidation by generation. Called after commit by the cache's event subscribers (gbc.cache.sync)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class _WriteThrough:
    family: str
    user_id: uuid.UUID | str
    fixed: list[tuple[str, str]]
    first_pages: list[str]
    patch: Patch


@dataclass
class _Batch:
    write_throughs: list[_WriteThrough] = field(default_factory=list)
    puts: list[tuple[str, bytes, int]] = field(default_factory=list)  # (key, value, ttl)


_batch: ContextVar[_Batch | None] = ContextVar("cache_write_batch", default=None)


@contextmanager
def batched() -> Iterator[None]:
    """The write-throughs and global puts asked for in the block, done together at its end: every
    entry read in one round trip, every update written in a second, whatever the number of families
    (a round's end writes the wallet, the ledger's and the history's first pages and the ended game:
    2 round trips instead of 5). The events of one transaction are published inside one batch."""
    if _batch.get() is not None:
        yield
        return
    batch = _Batch()
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
        _apply(batch)


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
    an open circuit breaker, invalidates the whole family instead. Inside `batched()`, done at its end."""
    if not get_settings().cache_enabled:
        return
    _queue(lambda batch: batch.write_throughs.append(_WriteThrough(family, user_id, fixed, first_pages, patch)))


def put_global(kind: str, rest: str, value: Any) -> None:
    """Cache an immutable global value now (an ended game), so its first read is a hit."""
    if not get_settings().cache_enabled:
        return
    _queue(lambda batch: batch.puts.append((global_key(kind, rest), codec.dumps(value), TTL[kind])))


def _queue(add: Callable[[_Batch], None]) -> None:
    batch = _batch.get()
    if batch is not None:
        add(batch)
        return
    alone = _Batch()
    add(alone)
    _apply(alone)


def _apply(batch: _Batch) -> None:
    if not batch.write_throughs and not batch.puts:
        return
    if not breaker.allow():  # Redis was failing: at least try to make the old entries unreachable
        _invalidate_instead(batch)
        return
    client = redis_client()
    try:
        read = _pipelined(
            client,
            [(_PATCH_READ, *_read_arguments(w)) for w in batch.write_throughs],
            [("SET", key, value, "EX", ttl) for key, value, ttl in batch.puts],
        )
        writes = [_write_arguments(w, flat) for w, flat in zip(batch.write_throughs, read, strict=False)]
        writes = [(keys, args) for keys, args in writes if keys]
        if writes:
            _pipelined(client, [(_PATCH_WRITE, keys, args) for keys, args in writes], [])
        breaker.success()
    except redis.RedisError as exc:
        breaker.failure()
        logger.warning("[Cache] write-through failed; invalidating", extra={"error": repr(exc)})
        _invalidate_instead(batch)


def _invalidate_instead(batch: _Batch) -> None:
    for w in batch.write_throughs:
        invalidate_user_caches(w.user_id, (w.family,))


def _pipelined(
    client: redis.Redis, scripts: list[tuple[str, list[Any], list[Any]]], commands: list[tuple[Any, ...]]
) -> list[Any]:
    """Run the scripts (EVALSHA) and then the commands in one round trip; returns the scripts' results.
    redis-py's own pipelined scripts cost a SCRIPT EXISTS round trip per execute: instead a script the
    server does not know (a restart, SCRIPT FLUSH) is loaded on NOSCRIPT and the pipeline run again."""
    for attempt in (1, 2):
        pipe = client.pipeline(transaction=False)
        for source, keys, args in scripts:
            pipe.evalsha(_script(client, source).sha, len(keys), *keys, *args)
        for command in commands:
            pipe.execute_command(*command)
        results = pipe.execute(raise_on_error=False)
        missing = {
            scripts[i][0]
            for i, r in enumerate(results[: len(scripts)])
            if isinstance(r, redis.exceptions.NoScriptError)
        }
        if not missing or attempt == 2:
            for result in results:
                if isinstance(result, redis.RedisError):
                    raise result
            return list(results[: len(scripts)])
        for source in missing:
            client.script_load(source)
    raise AssertionError("unreachable")


def _read_arguments(w: _WriteThrough) -> tuple[list[Any], list[Any]]:
    keys = [_gen_key(w.family, w.user_id), _seq_key(w.family, w.user_id), _deep_key(w.family, w.user_id)]
    keys += [_index_key(kind, w.user_id) for kind in w.first_pages]
    args: list[Any] = [len(w.fixed), _seed()]
    args += [f":{rest}" for _, rest in w.fixed]
    args += [prefix_of(kind) for kind, _ in w.fixed]
    args += [prefix_of(kind) for kind in w.first_pages]
    return keys, args


def _write_arguments(w: _WriteThrough, flat: list[bytes]) -> tuple[list[str], list[bytes]]:
    """The entries read, each with its old and its patched value (b"" = drop it)."""
    keys: list[str] = []
    args: list[bytes] = []
    for i in range(0, len(flat), 2):
        key, raw = flat[i].decode(), flat[i + 1]
        if not raw:
            continue  # not cached: the next read loads it (a load that started earlier cannot store)
        kind, suffix = parse_user_key(key)
        try:
            new = w.patch(kind, suffix, codec.loads(raw))
        except Exception:
            logger.exception("[Cache] write-through failed; dropping the entry", extra={"key": key})
            new = DROP
        keys.append(key)
        args += [raw, b"" if new is DROP else codec.dumps(new)]
    return keys, args


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
