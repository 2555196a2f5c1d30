"""The Lua scripts (one round trip each; non-cluster Redis: keys are built inside them)."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import redis

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
