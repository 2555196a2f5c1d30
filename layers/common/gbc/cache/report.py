"""What the cache reports to GET /api/health: connected, totalKeys, memory, hitRate."""

from __future__ import annotations

from typing import Any

from gbc.cache.breaker import breaker
from gbc.cache.client import redis_client
from gbc.cache.keys import (
    LOOKUPS_KEY,
    MISSES_KEY,
)


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
