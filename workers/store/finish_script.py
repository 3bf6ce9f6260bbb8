"""The Lua of ``JobStore.finish`` (workers/store/jobs.py): record a job's
outcome once, with its callback, indexes and metrics, and take the
next queued job in the same call. Named KEYS/ARGV records as in
``job_scripts.py`` (see ``lua.LuaStep``)."""

from __future__ import annotations

from dataclasses import dataclass

from workers.store.job_search import INDEX_LUA
from workers.store.lane_scripts import TAKE_FUNCTIONS, TakeArgs

__all__ = ["FinishKeys", "FinishArgs", "FINISH"]


@dataclass(frozen=True)
class FinishKeys:
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
    failed_index_key: str  # all failed jobs, '' unless the outcome is a failure
    dead_index_key: str  # failed jobs not yet replayed
    finished_key: str  # the budget's index of finished jobs (keys.finished)


@dataclass(frozen=True)
class FinishArgs(TakeArgs):
    job_id: str
    retention_s: int
    push_message: bytes
    child: str  # '' for none
    child_rss: str
    failed_hook_prefix: str  # keys.hook_failed_index('')
    dead_hook_prefix: str  # keys.hook_dead_letters_index('')
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
  -- budget: the hook's own retentionS if set; the index of finished jobs by finish time
  redis.call('EXPIRE', job_key, tonumber(redis.call('HGET', job_key, 'retentionS') or retention_s))
  local t = redis.call('TIME')
  redis.call('ZADD', finished_key, tonumber(t[1]) + tonumber(t[2]) / 1000000, job_id)
  redis.call('ZREM', running_key, job_id)
  redis.call('RPUSH', done_key, '1')
  redis.call('EXPIRE', done_key, 60)
  if redis.call('HGET', job_key, 'lane') == 'sync' then
    redis.call('PUBLISH', done_channel, job_id)
  end
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
