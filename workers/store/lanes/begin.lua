-- Begins an attempt unless the job already ended: counts it and marks the job
-- running with a deadline in the running zset (what the reaper watches).
-- Returns {} for a missing job, else {run?, field, value, ...}; for a job of a
-- hook, the fields end with ``hookSince``: the first version of the stored
-- hook ('0' if unknown), or '' when the hook is gone. A job whose version is
-- below it belongs to a deleted hook (``specs.SpecCache.for_job``).
-- ``after_s`` (optional): the run starts up to this long after ``now`` (a job
-- held behind others a child took with it: lanes/take_many.lua), so its
-- deadline is that much later.
local hooks_since = {}
local function begin(job_key, running, id, worker, now, margin_ms, hook_prefix, after_s)
  -- The fields this step reads of the job, in one call.
  local job = redis.call('HMGET', job_key, 'status', 'timeoutMs', 'hookId', 'attempts')
  if not job[1] and redis.call('EXISTS', job_key) == 0 then return {} end
  local status = job[1]
  local run = 0
  if status ~= SUCCEEDED and status ~= FAILED then
    run = 1
    local timeout_ms = tonumber(job[2] or '60000')
    local deadline = tonumber(now) + (after_s or 0) + (timeout_ms + tonumber(margin_ms)) / 1000
    -- The attempt counted in the same HSET (the script is atomic: no HINCRBY needed).
    local attempts = string.format('%d', tonumber(job[4] or '0') + 1)
    redis.call(
      'HSET', job_key, 'status', RUNNING, 'startedAt', now, 'worker', worker, 'attempts', attempts
    )
    redis.call('ZADD', running, deadline, id)
  end
  local reply = redis.call('HGETALL', job_key)
  table.insert(reply, 1, run)
  local hook_id = job[3]
  if hook_id and hook_id ~= '' then
    local since = hooks_since[hook_id]
    if not since then
      local hook_key = hook_prefix .. hook_id
      since = redis.call('HGET', hook_key, 'since')
      if not since then since = redis.call('EXISTS', hook_key) == 1 and '0' or '' end
      hooks_since[hook_id] = since  -- a batch's jobs of one hook read it once
    end
    table.insert(reply, 'hookSince')
    table.insert(reply, since)
  end
  return reply
end
