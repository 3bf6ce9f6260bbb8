"""The Lua behind the script KV (``kv.py``): every write is one atomic step
that checks the quotas first and writes nothing when one is over."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KvKeys", "SetArgs", "SweepArgs", "DeleteArgs", "SET", "DELETE", "SWEEP"]


@dataclass(frozen=True)
class KvKeys:
    data: str
    meta: str
    index: str
    expiry: str
    stats: str


@dataclass(frozen=True)
class SetArgs:
    key: str
    value: bytes
    now: int
    expires_at: int  # 0: never
    if_absent: int  # 1: keep a live value
    max_entries: int
    max_total_bytes: int


@dataclass(frozen=True)
class DeleteArgs:
    key: str


@dataclass(frozen=True)
class SweepArgs:
    now: int
    limit: int


# Removing one key, keeping the stats right: used by set, delete and sweep.
_REMOVE = """
local function remove(k)
  local old = redis.call('HGET', data, k)
  if not old then return 0 end
  redis.call('HDEL', data, k)
  redis.call('HDEL', meta, k)
  redis.call('ZREM', index, k)
  redis.call('ZREM', expiry, k)
  redis.call('HINCRBY', stats, 'entries', -1)
  redis.call('HINCRBY', stats, 'bytes', -string.len(old))
  return 1
end
local function sweep(now_s, limit)
  local due = redis.call('ZRANGEBYSCORE', expiry, '-inf', now_s, 'LIMIT', 0, limit)
  for _, k in ipairs(due) do remove(k) end
end
"""

SWEEP = (
    _REMOVE
    + """
sweep(now, tonumber(limit))
return 1
"""
)

# Returns {status, message}: 'ok', or 'entries' / 'bytes' for a quota.
SET = (
    _REMOVE
    + """
sweep(now, 100)
local m = redis.call('HGET', meta, key)
local live = false
if m then
  local exp = tonumber(string.match(m, ' (%d+)$'))
  live = exp == 0 or exp > tonumber(now)
end
local old = redis.call('HGET', data, key)
local old_len = 0
if old and live then old_len = string.len(old) end
local stats_entries = tonumber(redis.call('HGET', stats, 'entries') or '0')
local stats_bytes = tonumber(redis.call('HGET', stats, 'bytes') or '0')
local entries = stats_entries
if not (old and live) then entries = entries + 1 end
if old and not live then
  entries = entries - 1
  stats_bytes = stats_bytes - string.len(old)
end
if entries > tonumber(max_entries) then return {'entries', entries} end
local total = stats_bytes - old_len + string.len(value)
if total > tonumber(max_total_bytes) then return {'bytes', total} end
if live and if_absent == '1' then return {'ok', 0} end
remove(key)
redis.call('HSET', data, key, value)
redis.call('HSET', meta, key, now .. ' ' .. expires_at)
redis.call('ZADD', index, 0, key)
if expires_at ~= '0' then redis.call('ZADD', expiry, expires_at, key) end
redis.call('HINCRBY', stats, 'entries', 1)
redis.call('HINCRBY', stats, 'bytes', string.len(value))
return {'ok', 1}
"""
)

DELETE = (
    _REMOVE
    + """
return remove(key)
"""
)
