"""Who may be listening: a user who took a ticket in the last CONNECTION_TTL seconds. Pushes are sent
only for them, so a commit of a player without the page open costs no send (the queue, the notifier
and a DynamoDB query for nobody). The mark lives in Redis (the functions inside the VPC reach it; the
connection store, DynamoDB, is for the functions outside it), set when a ticket is issued; a
disconnect does not clear it (it expires): a push for a user with no connection is only a wasted send.
Redis down: every push is sent (a hint lost is worse than a send wasted), and while the cache's
circuit breaker is open the check gives up within the probe timeout (50 ms) instead of Redis's."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import redis

from gbc.cache import breaker
from gbc.cache.client import redis_client, redis_probe_client
from gbc.observability import logger
from gbc.realtime.store import CONNECTION_TTL_SECONDS

PREFIX = "realtime:listening:"


def mark_listening(user_id: uuid.UUID) -> None:
    try:
        redis_client().set(f"{PREFIX}{user_id}", b"1", ex=CONNECTION_TTL_SECONDS)
    except redis.RedisError as exc:
        logger.warning("[Realtime] could not mark a listener", extra={"error": repr(exc)})


def listening(user_ids: Iterable[str]) -> set[str]:
    """The users among these who may have a connection (all of them when Redis cannot say)."""
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    try:
        client = redis_probe_client() if breaker.is_open else redis_client()
        marks = client.mget([f"{PREFIX}{u}" for u in ids])
    except redis.RedisError:
        breaker.failure()
        return set(ids)
    return {u for u, mark in zip(ids, marks, strict=True) if mark}
