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

from workers.store.job_search import INDEX_LUA
from workers.store.stats import APPLY_STATS as _STATS

__all__ = [
    "CreateKeys",
    "CreateArgs",
    "BeginKeys",
    "StartArgs",
    "TakeKeys",
    "TakeArgs",
    "FinishKeys",
    "FinishArgs",
    "RequeueKeys",
    "RequeueArgs",
    "CREATE",
    "START",
    "TAKE",
    "FINISH",
    "REQUEUE",
]


# -- create -------------------------------------------------------------------


@dataclass(frozen=True)
class CreateKeys:
    job_key: str
    history_key: str
    queue_key: str
    metrics_key: str
    hook_key: str
    slot_key: str  # '' for none
    idempotency_key: str  # '' for none
    replayed_key: str  # the job this one replays ('' for none): it gets replayedBy
    dead_key: str  # the dead letters, the replayed job leaves them ('' for none)
    hook_dead_key: str  # the hook's dead letters
    index_key: str  # the search index of all events ('' for none: a test run)
    hook_index_key: str  # the hook's search index
    hook_stats_key: str  # this minute's stats hashes ('' for none)
    fleet_stats_key: str


@dataclass(frozen=True)
class CreateArgs:
    retention_s: int
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
    stats_ops: bytes | str  # ``StatsWrite.encoded()``, '' for none
    stats_ttl_s: int
    # TAIL: the job's field/value pairs


# Returns {code, original job id}; codes are ``jobs.Created``'s: 0 hook
# changed, 1 written, 2 slot full, 3 duplicate, 4 key reused for another
# request. Only 1 writes the job. An idempotency key holds "<fingerprint>
# <job id>": a request is a duplicate only if its fingerprint matches too.
CREATE = (
    _STATS
    + INDEX_LUA
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
if slot_key ~= '' then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
  local lapse = tonumber(slot_lapse_s)
  redis.call('ZREMRANGEBYSCORE', slot_key, '-inf', now)
  if redis.call('ZCARD', slot_key) >= tonumber(slot_max) then return {2, ''} end
  redis.call('ZADD', slot_key, now + lapse, job_id)
  redis.call('EXPIRE', slot_key, math.ceil(lapse) + 1)
end
redis.call('HSET', job_key, unpack(ARGV, TAIL))
redis.call('EXPIRE', job_key, retention_s)
if idempotency_key ~= '' then
  redis.call('SET', idempotency_key, fingerprint .. ' ' .. job_id, 'EX', retention_s)
end
local history = tonumber(history_size)
if history > 0 then
  redis.call('LPUSH', history_key, job_id)
  redis.call('LTRIM', history_key, 0, history - 1)
end
redis.call('LPUSH', queue_key, message)
if replayed_key ~= '' then mark_replayed(replayed_key, job_id, dead_key, hook_dead_key) end
if index_key ~= '' then
  index_job({index_key, hook_index_key}, job_id, created_at, retention_s)
end
if accepted_counter ~= '' then redis.call('HINCRBY', metrics_key, accepted_counter, 1) end
pcall(apply_stats, hook_stats_key, fleet_stats_key, stats_ops, stats_ttl_s, queue_key)
return {1, ''}
"""
)

# -- start, take --------------------------------------------------------------

# Begins an attempt unless the job already ended: counts it and marks the job
# running with a deadline in the running zset (what the reaper watches).
# Returns {} for a missing job, else {run?, field, value, ...}; for a job of a
# hook, the fields end with ``hookSince``: the first version of the stored
# hook ('0' if unknown), or '' when the hook is gone. A job whose version is
# below it belongs to a deleted hook (``specs.SpecCache.for_job``).
_BEGIN = """
local function begin(job_key, running, id, worker, now, margin_ms, hook_prefix)
  if redis.call('EXISTS', job_key) == 0 then return {} end
  local status = redis.call('HGET', job_key, 'status')
  local run = 0
  if status ~= SUCCEEDED and status ~= FAILED then
    run = 1
    redis.call('HINCRBY', job_key, 'attempts', 1)
    local timeout_ms = tonumber(redis.call('HGET', job_key, 'timeoutMs') or '60000')
    local deadline = tonumber(now) + (timeout_ms + tonumber(margin_ms)) / 1000
    redis.call('HSET', job_key, 'status', RUNNING, 'startedAt', now, 'worker', worker)
    redis.call('ZADD', running, deadline, id)
  end
  local reply = redis.call('HGETALL', job_key)
  table.insert(reply, 1, run)
  local hook_id = redis.call('HGET', job_key, 'hookId')
  if hook_id and hook_id ~= '' then
    local hook_key = hook_prefix .. hook_id
    local since = redis.call('HGET', hook_key, 'since')
    if not since then since = redis.call('EXISTS', hook_key) == 1 and '0' or '' end
    table.insert(reply, 'hookSince')
    table.insert(reply, since)
  end
  return reply
end
"""


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


START = _BEGIN + "return begin(job_key, running_key, job_id, worker, now, margin_ms, hook_prefix)\n"


@dataclass(frozen=True)
class TakeKeys:
    queue_key: str
    running_key: str


@dataclass(frozen=True)
class TakeArgs:
    """Also the first fields of ``FinishArgs`` ('' each when not taking)."""

    take_worker: str
    take_now: float | str
    take_margin_ms: int | str
    take_task: str  # the task name a message must carry
    take_job_prefix: str  # keys.job('')
    take_latest: float | str  # epoch s: later hard deadlines are left
    take_hook_prefix: str  # keys.hook('')


# Takes the oldest message of a Celery queue list and begins its job, in the
# same step, so a job taken off the queue is always in the running zset (and
# so reaped if the child dies). The message is put back, and nothing taken,
# unless it is a ``task`` message without an ETA whose id is a stored job's,
# and the job's hard deadline (timeoutMs + margin from now) falls before
# ``latest`` (the end of the taking task's own time limit).
# Returns {} when nothing was taken, else {job id, begin()'s reply...}.
_TAKE = """
local function take(queue, running)
  local message = redis.call('RPOP', queue)
  if not message then return {} end
  local ok, decoded = pcall(cjson.decode, message)
  local headers = ok and type(decoded) == 'table' and decoded.headers
  local key = type(headers) == 'table' and type(headers.id) == 'string'
    and take_job_prefix .. headers.id
  local fits = false
  if key and headers.task == take_task and (headers.eta == nil or headers.eta == cjson.null) then
    if redis.call('EXISTS', key) == 1 then
      local timeout_ms = tonumber(redis.call('HGET', key, 'timeoutMs') or '60000')
      local hard_deadline = tonumber(take_now) + (timeout_ms + tonumber(take_margin_ms)) / 1000
      fits = hard_deadline <= tonumber(take_latest)
    end
  end
  if not fits then
    redis.call('RPUSH', queue, message)
    return {}
  end
  local reply = begin(
    key, running, headers.id, take_worker, take_now, take_margin_ms, take_hook_prefix
  )
  table.insert(reply, 1, headers.id)
  return reply
end
"""

TAKE = _BEGIN + _TAKE + "return take(queue_key, running_key)\n"

# -- finish -------------------------------------------------------------------


@dataclass(frozen=True)
class FinishKeys:
    job_key: str
    running_key: str
    done_key: str
    push_key: str  # a list to push push_message to ('' for none)
    metrics_key: str
    child_rss_key: str
    take_queue_key: str  # a queue to take the next job from ('' for none)
    failed_index_key: str  # all failed jobs, '' unless the outcome is a failure
    dead_index_key: str  # failed jobs not yet replayed
    hook_stats_key: str  # this minute's stats hashes ('' for none)
    fleet_stats_key: str


@dataclass(frozen=True)
class FinishArgs(TakeArgs):
    job_id: str
    retention_s: int
    push_message: bytes
    child: str  # '' for none
    child_rss: str
    stats_ops: bytes | str  # ``StatsWrite.encoded()``, '' for none
    stats_ttl_s: int
    failed_hook_prefix: str  # keys.hook_failed_index('')
    dead_hook_prefix: str  # keys.hook_dead_letters_index('')
    counters_n: int
    # TAIL: counters_n counter/amount pairs, then the job's field/value pairs


# Records a job's outcome unless it is already final; then, if take_queue_key
# is a queue, takes the next job off it as TAKE does (one round trip per job
# for a child that runs queued jobs back to back).
# Returns {recorded (1) or already final (0), take()'s reply...}.
FINISH = (
    _BEGIN
    + _TAKE
    + _STATS
    + INDEX_LUA
    + """
local function finish()
  if child ~= '' then redis.call('HSET', child_rss_key, child, child_rss) end
  local status = redis.call('HGET', job_key, 'status')
  if status == false or status == SUCCEEDED or status == FAILED then
    redis.call('ZREM', running_key, job_id)
    return 0
  end
  local fields_from = TAIL + 2 * tonumber(counters_n)
  for i = fields_from, #ARGV, 2 do
    redis.call('HSET', job_key, ARGV[i], ARGV[i + 1])
  end
  if push_key ~= '' then redis.call('LPUSH', push_key, push_message) end
  redis.call('EXPIRE', job_key, retention_s)
  redis.call('ZREM', running_key, job_id)
  redis.call('RPUSH', done_key, '1')
  redis.call('EXPIRE', done_key, 60)
  if failed_index_key ~= '' then
    index_failed(job_key, job_id, retention_s, failed_index_key, dead_index_key,
      failed_hook_prefix, dead_hook_prefix)
  end
  -- Metrics last, and with pcall: a script that errors is not rolled back,
  -- so a bad counter must never cut the job's own writes short.
  for i = TAIL, fields_from - 1, 2 do
    if string.find(ARGV[i + 1], '.', 1, true) then
      redis.pcall('HINCRBYFLOAT', metrics_key, ARGV[i], ARGV[i + 1])
    else
      redis.pcall('HINCRBY', metrics_key, ARGV[i], ARGV[i + 1])
    end
  end
  pcall(apply_stats, hook_stats_key, fleet_stats_key, stats_ops, stats_ttl_s, take_queue_key)
  return 1
end

local recorded = finish()
if take_queue_key == '' then return {recorded} end
local taken = take(take_queue_key, running_key)
table.insert(taken, 1, recorded)
return taken
"""
)

# -- requeue ------------------------------------------------------------------


@dataclass(frozen=True)
class RequeueKeys:
    job_key: str
    running_key: str
    queue_key: str


@dataclass(frozen=True)
class RequeueArgs:
    job_id: str
    message: bytes


# Puts a job that has not ended back in the queue (status and task message in
# one step); returns 1, or 0 and changes nothing if it is gone or ended.
REQUEUE = """
redis.call('ZREM', running_key, job_id)
local status = redis.call('HGET', job_key, 'status')
if status == false or status == SUCCEEDED or status == FAILED then return 0 end
redis.call('HSET', job_key, 'status', QUEUED)
redis.call('LPUSH', queue_key, message)
return 1
"""
