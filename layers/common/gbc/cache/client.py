"""The container's Redis client: short timeouts so a sick cache costs milliseconds, not seconds."""

from __future__ import annotations

from functools import lru_cache

import redis

from gbc.settings import get_settings

PROBE_TIMEOUT = 0.05


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    settings = get_settings()
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        health_check_interval=30,
    )


@lru_cache(maxsize=1)
def redis_probe_client() -> redis.Redis:
    """For what must still be tried while the circuit breaker is open (an invalidation after a
    write): gives up after PROBE_TIMEOUT, so a write never waits a full timeout for a sick cache."""
    settings = get_settings()
    timeout = min(PROBE_TIMEOUT, settings.redis_timeout)
    return redis.Redis.from_url(settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
