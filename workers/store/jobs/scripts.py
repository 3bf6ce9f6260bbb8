"""The Lua scripts behind ``JobStore``'s atomic steps (workers/store/jobs.py).

Each runs as one Redis command: all of its writes happen, or, where it
refuses, none. Redis does not roll back a script that errors midway, so the
writes that matter come first and optional ones (metrics) use ``pcall``.

Arguments are named: each script has a record for its KEYS and one for its
ARGV, whose field order is the index order (see ``lua.LuaStep``). Statuses
are ``JobStatus``'s names (``QUEUED``, ``RUNNING``, ...), never spelled here.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.store.job_index import INDEX_LUA, HookIndexArgs, IndexKeys
from workers.store.lane_scripts import BEGIN, JOIN_LANE

__all__ = [
    "CreateKeys",
    "CreateArgs",
    "BeginKeys",
    "StartArgs",
    "RequeueKeys",
    "RequeueArgs",
    "CREATE",
    "START",
    "REQUEUE",
]


# -- create -------------------------------------------------------------------


@dataclass(frozen=True)
class CreateKeys(IndexKeys):
    job_key: str
    history_key: str
    queue_key: str
    metrics_key: str
    hook_key: str
    slot_key: str  # '' for none
    idempotency_key: str  # '' for none
    replayed_key: str  # the job this one replays ('' for none): it gets replayedBy
    pending_key: str  # the job's hook's list in its lane (sync or async)
    ready_key: str  # the lane's rotation of hooks with queued jobs


@dataclass(frozen=True)
class CreateArgs(HookIndexArgs):
    history_size: int
    job_id: str
    message: bytes  # the task message pushed to queue_key
    accepted_counter: str  # metrics field, '' for none
    hook_etag: str  # '' for no check
    slot_max: int | str
    slot_lapse_s: float | str
    duplicate_counter: str  # '' for none
    fingerprint: str  # of the request (``EventRequest.fingerprint``), kept with the key
    created_at: float  # the search indexes' score
    lane_hook: str  # the hook that takes turns for the job
    max_queued: int | str  # refuse past this many queued in the lane; '' for no cap
    hook_id: str  # the job's hook ('' for a test run of no hook)
    searchable: str  # '1': an event, listed in the search indexes; '': a test run
    trim_batch: int  # expired index entries dropped on the way (job_index.TRIM_BATCH)
    # TAIL: the job's field/value pairs


# Returns {code, original job id}; codes are ``jobs.Created``'s: 0 hook
# changed, 1 written, 2 slot full, 3 duplicate, 4 key reused for another
# request, 5 queue full. Only 1 writes the job. An idempotency key holds
# "<fingerprint> <job id>": a request is a duplicate only if its fingerprint
# matches too. The message is a token (lane_scripts): the job waits in its lane.
CREATE = (
    INDEX_LUA
    + JOIN_LANE
    + """
if hook_etag ~= '' then
  local etag = redis.call('HGET', hook_key, 'etag')
  if not etag then
    local def = redis.call('HGET', hook_key, 'def')
    etag = def and redis.sha1hex(def)
  end
  if etag ~= hook_etag then return {0, ''} end
end
if idempotency_key ~= '' then
  local bound = redis.call('GET', idempotency_key)
  if bound then
    local space = string.find(bound, ' ', 1, true)
    if not space or string.sub(bound, 1, space - 1) ~= fingerprint then return {4, ''} end
    if duplicate_counter ~= '' then redis.call('HINCRBY', metrics_key, duplicate_counter, 1) end
    return {3, string.sub(bound, space + 1)}
  end
end
-- lanes: backpressure (issue 14)
if max_queued ~= '' and redis.call('LLEN', pending_key) >= tonumber(max_queued) then
  return {5, ''}
end
-- end lanes
if slot_key ~= '' then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
  local lapse = tonumber(slot_lapse_s)
  redis.call('ZREMRANGEBYSCORE', slot_key, '-inf', now)
  if redis.call('ZCARD', slot_key) >= tonumber(slot_max) then return {2, ''} end
  redis.call('ZADD', slot_key, now + lapse, job_id)
  redis.call('EXPIRE', slot_key, math.ceil(lapse) + 1)
end
-- No expiry: a queued or running job never expires; FINISH gives it one.
redis.call('HSET', job_key, unpack(ARGV, TAIL))
if idempotency_key ~= '' then
  -- Bound to the job until the job expires (FINISH expires it with the job).
  redis.call('SET', idempotency_key, fingerprint .. ' ' .. job_id)
  redis.call('HSET', job_key, 'idempotencyKey', idempotency_key)
end
local history = tonumber(history_size)
if history > 0 then
  redis.call('LPUSH', history_key, job_id)
  redis.call('LTRIM', history_key, 0, history - 1)
end
join_lane(pending_key, ready_key, lane_hook, queue_key, job_id, message)
if replayed_key ~= '' then mark_replayed(replayed_key, job_id) end
index_new(hook_id, job_id, created_at, searchable == '1')
trim_indexes(hook_id, trim_batch)
if accepted_counter ~= '' then redis.call('HINCRBY', metrics_key, accepted_counter, 1) end
return {1, ''}
"""
)

# -- start --------------------------------------------------------------------


@dataclass(frozen=True)
class BeginKeys:
    job_key: str
    running_key: str


@dataclass(frozen=True)
class StartArgs:
    job_id: str
    worker: str
    now: float
    margin_ms: int
    hook_prefix: str  # keys.hook('')
    pending_prefix: str  # keys.pending('')
    sync_prefix: str  # keys.pending_sync('')
    ready_key: str  # keys.ready_hooks()
    sync_ready_key: str  # keys.ready_sync_hooks()


# Begins one given job (lane_scripts.BEGIN), taking it out of its lane: for
# tests and tools that start a job by id; workers claim and take.
START = (
    BEGIN
    + """
local hook = redis.call('HGET', job_key, 'hookId')
if hook then
  local sync = redis.call('HGET', job_key, 'lane') == 'sync'
  if sync and hook == '' then hook = '_test' end
  local list = (sync and sync_prefix or pending_prefix) .. hook
  if redis.call('LREM', list, 1, job_id) == 1 and redis.call('LLEN', list) == 0 then
    redis.call('LREM', sync and sync_ready_key or ready_key, 1, hook)
  end
end
return begin(job_key, running_key, job_id, worker, now, margin_ms, hook_prefix)
"""
)


# -- requeue ------------------------------------------------------------------


@dataclass(frozen=True)
class RequeueKeys:
    job_key: str
    running_key: str
    queue_key: str
    pending_key: str  # the job's lane (lane_scripts)
    ready_key: str


@dataclass(frozen=True)
class RequeueArgs:
    job_id: str
    message: bytes
    lane_hook: str  # the hook whose turn the job waits for
    token_prefix: str
    held_by: str = ""  # '' for any; else only while this worker holds it running


# Puts a job that has not ended back at the end of its lane, with a token of
# its own (status, lane and token in one step; the token that claimed it is
# unbound); returns 1, or 0 and changes nothing if it is gone or ended. With
# held_by (a dead child's node requeues its job at once), only a job that
# child still holds in the running zset: that ZREM is the claim, as the
# reaper's, so a job is requeued once whoever notices first.
REQUEUE = (
    JOIN_LANE
    + """
if held_by ~= '' then
  if redis.call('HGET', job_key, 'worker') ~= held_by then return 0 end
  if redis.call('ZREM', running_key, job_id) == 0 then return 0 end
end
redis.call('ZREM', running_key, job_id)
local status = redis.call('HGET', job_key, 'status')
if status == false or status == SUCCEEDED or status == FAILED then return 0 end
local token = redis.call('HGET', job_key, 'token')
if token then
  redis.call('DEL', token_prefix .. token)
  redis.call('HDEL', job_key, 'token')
end
redis.call('HSET', job_key, 'status', QUEUED)
join_lane(pending_key, ready_key, lane_hook, queue_key, job_id, message)
return 1
"""
)
