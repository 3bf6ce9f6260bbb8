"""The search indexes' writing side, and how long each entry lives.

An index entry lives exactly as long as its job (issue 20): not by the
retention of whichever hook happens to write next. Two sorted sets say when
each job expires: ``keys.index_expiry()`` for the fleet-wide indexes and
``keys.hook_jobs(hook)`` for the hook's own (which is also the list of every
job of the hook that deleting it deletes). A job's score there is ``+inf``
while it is queued or running (it never expires then) and while a callback
is due; it becomes the job's expiry time when the job's key gets one, in the
same Lua call (``expire_at``). ``trim_expired`` then drops whatever has
expired, from every index at once, a bounded batch per call: in each CREATE,
and in each worker node's reaper for every stored hook (``IndexTrim``), so
even an idle hook's indexes shrink.

The Lua below runs inside the job store's steps (CREATE, FINISH), the
deliveries' steps and the memory budget's TRIM; each of those steps' records
inherits ``IndexKeys`` and ``HookIndexArgs``, whose field names the Lua uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis

from workers.store import keys
from workers.store.lua import LuaStep

__all__ = ["IndexKeys", "HookIndexArgs", "INDEX_LUA", "IndexTrim", "TRIM_BATCH"]

TRIM_BATCH = 200  # expired entries one call drops from each expiry set
_HOOKS_PER_CALL = 50  # hooks whose indexes one reaper call trims


@dataclass(frozen=True)
class IndexKeys:
    """The fleet-wide indexes and their expiry set (KEYS of every step that
    indexes, expires or drops a job)."""

    jobs_index_key: str
    failed_index_key: str
    dead_index_key: str
    delivery_failed_index_key: str
    index_expiry_key: str

    @classmethod
    def build(cls) -> IndexKeys:
        return cls(
            jobs_index_key=keys.jobs_index(),
            failed_index_key=keys.failed_jobs_index(),
            dead_index_key=keys.dead_letters_index(),
            delivery_failed_index_key=keys.delivery_failed_index(),
            index_expiry_key=keys.index_expiry(),
        )


@dataclass(frozen=True)
class HookIndexArgs:
    """Prefixes of a hook's own indexes and of its set of jobs (ARGV: the
    hook is read from the job)."""

    hook_index_prefix: str
    hook_failed_prefix: str
    hook_dead_prefix: str
    hook_jobs_prefix: str

    @classmethod
    def build(cls) -> HookIndexArgs:
        return cls(
            hook_index_prefix=keys.hook_jobs_index(""),
            hook_failed_prefix=keys.hook_failed_index(""),
            hook_dead_prefix=keys.hook_dead_letters_index(""),
            hook_jobs_prefix=keys.hook_jobs(""),
        )


INDEX_LUA = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function global_indexes()
  return {jobs_index_key, failed_index_key, dead_index_key, delivery_failed_index_key}
end

local function hook_indexes(hook)
  return {hook_index_prefix .. hook, hook_failed_prefix .. hook, hook_dead_prefix .. hook}
end

-- Drops from `indexes` (and from `expiry`) up to `limit` jobs whose expiry
-- has come. Returns how many.
local function trim_expired(expiry, indexes, now_s, limit)
  local ids = redis.call('ZRANGEBYSCORE', expiry, '-inf', now_s, 'LIMIT', 0, tonumber(limit))
  if #ids == 0 then return 0 end
  for _, index in ipairs(indexes) do redis.call('ZREM', index, unpack(ids)) end
  redis.call('ZREM', expiry, unpack(ids))
  return #ids
end

local function trim_indexes(hook, limit)
  local now = now_ms() / 1000
  local n = trim_expired(index_expiry_key, global_indexes(), now, limit)
  if hook ~= '' then
    n = n + trim_expired(hook_jobs_prefix .. hook, hook_indexes(hook), now, limit)
  end
  return n
end

-- A job is its hook's while it is in the hook's set of jobs: deleting the
-- hook takes every job out, and a job of a deleted hook is indexed no more.
local function owned(hook, id)
  return hook ~= '' and redis.call('ZSCORE', hook_jobs_prefix .. hook, id) ~= false
end

-- A new job joins its hook's set of jobs; an event (searchable) also the
-- search indexes, by creation time. Nothing of it expires yet.
local function index_new(hook, id, created, searchable)
  if hook == '' then return end
  redis.call('ZADD', hook_jobs_prefix .. hook, '+inf', id)
  if searchable then
    redis.call('ZADD', index_expiry_key, '+inf', id)
    redis.call('ZADD', jobs_index_key, created, id)
    redis.call('ZADD', hook_index_prefix .. hook, created, id)
  end
end

-- The job's key, and its index entries with it, go at `at_ms` (epoch ms).
-- With `extend`, never earlier than already set (a key without expiry keeps
-- none). Entries are only moved (XX), never added: a job of a deleted hook
-- stays out.
local function expire_at(job_key, id, at_ms, extend)
  if extend then
    local ttl = redis.call('PTTL', job_key)
    if ttl == -1 or (ttl >= 0 and now_ms() + ttl >= at_ms) then return end
  end
  redis.call('PEXPIREAT', job_key, at_ms)
  local at = string.format('%.3f', at_ms / 1000)
  redis.call('ZADD', index_expiry_key, 'XX', at, id)
  local hook = redis.call('HGET', job_key, 'hookId') or ''
  if hook ~= '' then redis.call('ZADD', hook_jobs_prefix .. hook, 'XX', at, id) end
end

-- How long the job is kept once it has ended: its hook's retentionS if set.
local function retention_ms(job_key, default_s)
  return 1000 * tonumber(redis.call('HGET', job_key, 'retentionS') or default_s)
end

-- A replayed job leaves the dead letters and says which job replays it.
local function mark_replayed(original_key, by)
  if redis.call('EXISTS', original_key) == 0 then return end
  redis.call('HSET', original_key, 'replayedBy', by)
  local original = redis.call('HGET', original_key, 'id')
  local hook = redis.call('HGET', original_key, 'hookId') or ''
  redis.call('ZREM', dead_index_key, original)
  redis.call('ZREM', hook_dead_prefix .. hook, original)
end

-- A failed event (not a test run) of a hook that still owns it joins the
-- failed jobs and the dead letters, the fleet's and its hook's.
local function index_failed(job_key, id)
  if redis.call('HEXISTS', job_key, 'inline') == 1 then return end
  local hook = redis.call('HGET', job_key, 'hookId') or ''
  if not owned(hook, id) then return end
  local created = redis.call('HGET', job_key, 'createdAt') or '0'
  for _, index in ipairs({failed_index_key, dead_index_key,
                          hook_failed_prefix .. hook, hook_dead_prefix .. hook}) do
    redis.call('ZADD', index, created, id)
  end
end

-- Takes a job out of every index and expiry set (its key is being deleted).
local function unindex(id, hook)
  for _, index in ipairs(global_indexes()) do redis.call('ZREM', index, id) end
  redis.call('ZREM', index_expiry_key, id)
  if hook and hook ~= '' then
    for _, index in ipairs(hook_indexes(hook)) do redis.call('ZREM', index, id) end
    redis.call('ZREM', hook_jobs_prefix .. hook, id)
  end
end
"""


@dataclass(frozen=True)
class TrimIndexArgs(HookIndexArgs):
    limit: int
    # TAIL: hook ids


# Drops expired entries from the fleet-wide indexes and from each given
# hook's. Returns how many.
_TRIM_INDEXES = (
    INDEX_LUA
    + """
local n = trim_indexes('', limit)
for i = TAIL, #ARGV do n = n + trim_indexes(ARGV[i], limit) end
return n
"""
)


class IndexTrim:
    """The reaper's periodic step: drop the entries of jobs that expired, in
    every index (the fleet's and each stored hook's)."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._step = LuaStep(client, _TRIM_INDEXES, IndexKeys, TrimIndexArgs)

    def trim(self, hook_ids: Iterable[str] | None = None) -> int:
        """One bounded batch per index; returns how many entries went."""
        if hook_ids is None:
            hook_ids = sorted(i.decode() for i in self._redis.smembers(keys.hook_ids()))
        hook_ids = list(hook_ids)
        args = TrimIndexArgs(**vars(HookIndexArgs.build()), limit=TRIM_BATCH)
        total = 0
        for start in range(0, max(len(hook_ids), 1), _HOOKS_PER_CALL):
            chunk = hook_ids[start : start + _HOOKS_PER_CALL]
            total += int(self._step(IndexKeys.build(), args, chunk))
        return total
