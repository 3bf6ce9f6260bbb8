-- A project's storedBytes (access/storage.py): deletes up to ``count`` of
-- one hook's oldest finished jobs (the hook's set of jobs, scored by expiry:
-- +inf while a job has not ended). As budget_trim.lua, but from the hook's
-- own set; a job whose callback is still due, or that blocks its ordering
-- key, is left alone.
-- Returns {deleted, looked at}.
local ids = redis.call('ZRANGEBYSCORE', hook_jobs_key, '-inf', '(+inf', 'LIMIT', 0, tonumber(count))
local trimmed = 0
for _, id in ipairs(ids) do
  local job_key = job_prefix .. id
  local status = redis.call('HGET', job_key, 'status')
  local delivering = redis.call('HGET', job_key, 'deliveryStatus') == pending_delivery
  if status == false then
    unindex(id, hook_id)  -- expired on its own
  elseif (status == SUCCEEDED or status == FAILED) and not delivering
      and redis.call('HEXISTS', job_key, 'orderKeepMs') == 0 then  -- not blocking a key
    redis.call('LREM', history_key, 0, id)
    local idempotency = redis.call('HGET', job_key, 'idempotencyKey')
    if idempotency then redis.call('DEL', idempotency) end
    unindex(id, hook_id)
    redis.call('DEL', job_key)
    redis.call('ZREM', finished_key, id)
    trimmed = trimmed + 1
  end
end
if trimmed > 0 then redis.pcall('HINCRBY', metrics_key, trimmed_counter, trimmed) end
return {trimmed, #ids}
