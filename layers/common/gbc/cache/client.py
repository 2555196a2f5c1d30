"""The container's Redis client: short timeouts so a sick cache costs milliseconds, not seconds."""

from __future__ import annotations

from functools import lru_cache

import redis

from gbc.settings import get_settings


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    settings = get_settings()
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        health_check_interval=30,
    )
