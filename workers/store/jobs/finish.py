"""The Lua of ``JobStore.finish`` (workers/store/jobs.py): record a job's
outcome once, with its callback, indexes and metrics, and take the
next queued job in the same call. Named KEYS/ARGV records as in
``job_scripts.py`` (see ``lua.LuaStep``)."""

from __future__ import annotations

from dataclasses import dataclass

from workers.store.job_index import INDEX_LUA, HookIndexArgs, IndexKeys
from workers.store.lane_scripts import TAKE_FUNCTIONS, TakeArgs

__all__ = ["FinishKeys", "FinishArgs", "FINISH"]


@dataclass(frozen=True)
class FinishKeys(IndexKeys):
    job_key: str
    running_key: str
    done_key: str
    push_key: str  # a list to push push_message to ('' for none)
    metrics_key: str
    child_rss_key: str
    # Where to take the next job from (lane_scripts.TakeKeys; '' each for none).
    take_sync_ready_key: str
    take_ready_key: str
    take_sync_queue_key: str
    take_queue_key: str
    finished_key: str  # the budget's index of finished jobs (keys.finished)


@dataclass(frozen=True)
class FinishArgs(TakeArgs, HookIndexArgs):
    job_id: str
    retention_s: int  # unless the job has its hook's own (retentionS)
    failed: str  # '1': the outcome is a failure (the job joins the failed indexes)
    push_message: bytes
    child: str  # '' for none
    child_rss: str
    counters_n: int
    token_prefix: str  # keys.token('')
    done_channel: str  # keys.sync_done_channel(): a sync-lane job's id is published on it
    # TAIL: counters_n counter/amount pairs, then the job's field/value pairs


# Records a job's outcome unless it is already final (and unbinds the token
# that claimed it); then, if take_queue_key is a queue, takes the next job as
# lane_scripts.TAKE does (one round trip per job for a child that runs queued
# jobs back to back).
# Returns {recorded (1) or already final (0), take()'s reply...}.
FINISH = (
    TAKE_FUNCTIONS
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
  local token = redis.call('HGET', job_key, 'token')
  if token then redis.call('DEL', token_prefix .. token) end
  -- Retention counts from now (the hook's own retentionS if set), for the
  -- job, its idempotency key and its index entries alike; the budget's index
  -- of finished jobs is by finish time.
  local now = now_ms()
  local keep_ms = retention_ms(job_key, retention_s)
  expire_at(job_key, job_id, now + keep_ms, false)
  local idempotency = redis.call('HGET', job_key, 'idempotencyKey')
  if idempotency then redis.call('PEXPIRE', idempotency, keep_ms) end
  redis.call('ZADD', finished_key, string.format('%.6f', now / 1000), job_id)
  redis.call('ZREM', running_key, job_id)
  redis.call('RPUSH', done_key, '1')
  redis.call('EXPIRE', done_key, 60)
  if redis.call('HGET', job_key, 'lane') == 'sync' then
    redis.call('PUBLISH', done_channel, job_id)
  end
  if failed == '1' then index_failed(job_key, job_id) end
  -- Metrics last, and with pcall: a script that errors is not rolled back,
  -- so a bad counter must never cut the job's own writes short.
  for i = TAIL, fields_from - 1, 2 do
    if string.find(ARGV[i + 1], '.', 1, true) then
      redis.pcall('HINCRBYFLOAT', metrics_key, ARGV[i], ARGV[i + 1])
    else
      redis.pcall('HINCRBY', metrics_key, ARGV[i], ARGV[i + 1])
    end
  end
  return 1
end

local recorded = finish()
if take_queue_key == '' then return {recorded} end
local taken = take(
  take_sync_ready_key, take_ready_key, take_sync_queue_key, take_queue_key, running_key
)
table.insert(taken, 1, recorded)
return taken
"""
)
