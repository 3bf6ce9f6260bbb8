"""The Lua behind the lanes: which queued job a worker child runs next.

A queued job waits in its hook's list in one of two lanes: sync
(``keys.pending_sync(hook)``) or async (``keys.pending(hook)``), FIFO; each
lane has a rotation of the hooks with queued jobs (``keys.ready_sync_hooks()``,
``keys.ready_hooks()``: each hook once, exactly while its list is not empty).
A Celery task message carries no job: it is a token, "run the next job",
pushed with each job (to ``scripts.sync`` for the sync lane, ``scripts``
otherwise). Whoever takes a job looks at the sync lane first, then the async
one, and takes the oldest job of the hook at the head of that lane's
rotation, moving the hook to the back: hooks take turns, FIFO within a hook.

- ``CLAIM``: a Celery-delivered token claims the next job and is bound to it
  (``keys.token``), so a redelivery of the token (its child died) runs the
  same job again, as a per-job message would;
- ``take()``: a child that has run its task's job takes the next one itself
  and spends a token still waiting in a queue list (Celery's work spared).

Tokens never run out: each job brings one; an async job is taken only with
a token spent, and a sync job even without (its caller waits), which leaves
one over that later claims nothing (or a later job).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BEGIN",
    "JOIN_LANE",
    "TAKE_FUNCTIONS",
    "TAKE",
    "CLAIM",
    "TakeKeys",
    "TakeArgs",
    "ClaimKeys",
    "ClaimArgs",
]

# Begins an attempt unless the job already ended: counts it and marks the job
# running with a deadline in the running zset (what the reaper watches).
# Returns {} for a missing job, else {run?, field, value, ...}; for a job of a
# hook, the fields end with ``hookSince``: the first version of the stored
# hook ('0' if unknown), or '' when the hook is gone. A job whose version is
# below it belongs to a deleted hook (``specs.SpecCache.for_job``).
BEGIN = """
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

# join_lane(): a queued job joins the end of its hook's list in its lane (the
# hook joins the lane's rotation if the list was empty), and its token the
# queue: how CREATE queues a job and REQUEUE queues it again.
JOIN_LANE = """
local function join_lane(pending, ready, hook, queue, id, token_message)
  redis.call('RPUSH', pending, id)
  if hook ~= '' and redis.call('LLEN', pending) == 1 then redis.call('RPUSH', ready, hook) end
  redis.call('LPUSH', queue, token_message)
end
"""

# pick(): the next queued job: (id, the list it is in, its hook, the
# rotation it came from), or false. pop(): removes it, and moves its hook to
# the back of the rotation if the hook has more. They need take_sync_prefix
# and take_pending_prefix.
_PICK = """
local function pick_from(ready_key, prefix)
  while true do
    local hook = redis.call('LINDEX', ready_key, 0)
    if not hook then return false end
    local from = prefix .. hook
    local id = redis.call('LINDEX', from, 0)
    if id then return id, from, hook, ready_key end
    redis.call('LPOP', ready_key)  -- a hook with nothing queued has no turn
  end
end

local function pick(sync_ready_key, ready_key)
  local id, from, hook, rotation = pick_from(sync_ready_key, take_sync_prefix)
  if id then return id, from, hook, rotation end
  return pick_from(ready_key, take_pending_prefix)
end

local function pop(from, hook, rotation)
  redis.call('LPOP', from)
  redis.call('LPOP', rotation)
  if redis.call('LLEN', from) > 0 then redis.call('RPUSH', rotation, hook) end
end
"""


@dataclass(frozen=True)
class TakeKeys:
    sync_ready_key: str  # keys.ready_sync_hooks()
    ready_key: str  # keys.ready_hooks()
    sync_queue_key: str  # the sync lane's Celery queue list (its tokens)
    queue_key: str  # the async Celery queue list (its tokens)
    running_key: str


@dataclass(frozen=True)
class TakeArgs:
    """Also the first fields of ``FinishArgs`` and ``ClaimArgs`` ('' each when
    not taking)."""

    take_worker: str
    take_now: float | str
    take_margin_ms: int | str
    take_task: str  # the task name a token message carries
    take_job_prefix: str  # keys.job('')
    take_latest: float | str  # epoch s: a job whose hard deadline falls later is left
    take_pending_prefix: str  # keys.pending('')
    take_sync_prefix: str  # keys.pending_sync('')
    take_hook_prefix: str  # keys.hook('')
    take_token_prefix: str  # keys.token('')


# take(): picks the next job; leaves it unless its hard deadline (timeoutMs +
# margin from now) falls before take_latest (the end of the taking task's own
# time limit), and, for an async job, unless a token waits in the async queue
# list (else Celery would later deliver that token for nothing: the work the
# take spares); then spends a token (a sync job: the sync queue's, else the
# async queue's, else none), pops the job and begins it in the same step, so a
# taken job is always in the running zset (and so reaped if the child dies).
# What is not a free token is put back: another task's message, one with an
# ETA, and a token bound to a job (requeued because the child running its job
# died: its delivery runs that job again; spent here, the job would wait for
# the reaper).
# Returns {} when nothing was taken, else {job id, begin()'s reply...}.
TAKE_FUNCTIONS = (
    BEGIN
    + _PICK
    + """
local function spend_token(queue)
  local message = redis.call('RPOP', queue)
  if not message then return false end
  local ok, decoded = pcall(cjson.decode, message)
  local headers = ok and type(decoded) == 'table' and decoded.headers
  if type(headers) == 'table' and headers.task == take_task
      and (headers.eta == nil or headers.eta == cjson.null)
      and redis.call('EXISTS', take_token_prefix .. tostring(headers.id)) == 0 then
    return true
  end
  redis.call('RPUSH', queue, message)
  return false
end

local function take(sync_ready_key, ready_key, sync_queue, queue, running)
  local id, from, hook, rotation = pick(sync_ready_key, ready_key)
  if not id then return {} end
  local key = take_job_prefix .. id
  if redis.call('EXISTS', key) == 1 then
    local timeout_ms = tonumber(redis.call('HGET', key, 'timeoutMs') or '60000')
    local hard_deadline = tonumber(take_now) + (timeout_ms + tonumber(take_margin_ms)) / 1000
    if hard_deadline > tonumber(take_latest) then return {} end
  end
  if rotation == ready_key then
    -- An async job only with a token still in the queue list: one taken
    -- without would leave its token to a Celery delivery that runs nothing.
    if not spend_token(queue) then return {} end
  elseif not spend_token(sync_queue) then
    spend_token(queue)  -- a sync job is taken even so: its caller waits
  end
  pop(from, hook, rotation)
  local reply = begin(key, running, id, take_worker, take_now, take_margin_ms, take_hook_prefix)
  table.insert(reply, 1, id)
  return reply
end
"""
)

TAKE = TAKE_FUNCTIONS + (
    "return take(sync_ready_key, ready_key, sync_queue_key, queue_key, running_key)\n"
)


@dataclass(frozen=True)
class ClaimKeys:
    token_key: str  # keys.token(token_id)
    sync_ready_key: str
    ready_key: str
    running_key: str


@dataclass(frozen=True)
class ClaimArgs(TakeArgs):
    token_id: str
    token_ttl_s: int


# A Celery-delivered token: if it is bound to a job still running under it,
# that job's child died: begin it again. If it is bound otherwise (the job
# ended, or the reaper queued it again with a token of its own), nothing. Else
# it claims the next job (no deadline check: a token's Celery limits are the
# longest job's), and is bound to it.
# Returns {} when nothing was claimed, else {job id, begin()'s reply...}.
CLAIM = (
    BEGIN
    + _PICK
    + """
local bound = redis.call('GET', token_key)
if bound then
  local key = take_job_prefix .. bound
  local state = redis.call('HMGET', key, 'status', 'token')
  if state[1] ~= RUNNING or state[2] ~= token_id then return {} end
  local reply = begin(
    key, running_key, bound, take_worker, take_now, take_margin_ms, take_hook_prefix
  )
  table.insert(reply, 1, bound)
  return reply
end
local id, from, hook, rotation = pick(sync_ready_key, ready_key)
if not id then return {} end
pop(from, hook, rotation)
local key = take_job_prefix .. id
if redis.call('EXISTS', key) == 1 then
  redis.call('SET', token_key, id, 'EX', token_ttl_s)
  redis.call('HSET', key, 'token', token_id)
end
local reply = begin(
  key, running_key, id, take_worker, take_now, take_margin_ms, take_hook_prefix
)
table.insert(reply, 1, id)
return reply
"""
)
