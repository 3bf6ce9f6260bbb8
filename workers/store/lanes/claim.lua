-- A Celery-delivered token: if it is bound to a job still running under it,
-- that job's child died: begin it again. If it is bound otherwise (the job
-- ended, or the reaper queued it again with a token of its own), nothing. Else
-- it claims the next job (no deadline check: a token's Celery limits are the
-- longest job's), and is bound to it.
-- Returns {} when nothing was claimed, else {job id, begin()'s reply...}.
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
if not id then
  owe_token()  -- it claimed nothing only because jobs are held (pick.lua)
  return {}
end
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
