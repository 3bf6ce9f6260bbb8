-- Deletes up to ``count`` of the oldest finished jobs: each one's hash, its
-- idempotency key, its entry in its hook's history and in every index.
-- Entries of jobs that expired on their own are dropped; a job that is not
-- final (never indexed so) is left alone; a job whose callback is still to be
-- sent goes to the back of the index instead; a failed job blocking its
-- ordering key leaves the index (ordering/order.lua puts it back on resume).
-- Returns how many jobs were deleted.
local ids = redis.call('ZRANGE', finished_key, 0, tonumber(count) - 1)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local trimmed = 0
for _, id in ipairs(ids) do
  local job_key = job_prefix .. id
  local status = redis.call('HGET', job_key, 'status')
  local delivering = redis.call('HGET', job_key, 'deliveryStatus') == pending_delivery
  if delivering and (status == SUCCEEDED or status == FAILED) then
    redis.call('ZADD', finished_key, now, id)
  elseif redis.call('HEXISTS', job_key, 'orderKeepMs') == 1 then
    -- It blocks its ordering key: kept; the resume puts it back here.
    redis.call('ZREM', finished_key, id)
  elseif status == SUCCEEDED or status == FAILED then
    local hook = redis.call('HGET', job_key, 'hookId') or ''
    if hook ~= '' then redis.call('LREM', history_prefix .. hook, 0, id) end
    local idempotency = redis.call('HGET', job_key, 'idempotencyKey')
    if idempotency then redis.call('DEL', idempotency) end
    unindex(id, hook)
    redis.call('DEL', job_key)
    redis.call('ZREM', finished_key, id)
    trimmed = trimmed + 1
  else
    redis.call('ZREM', finished_key, id)
  end
end
if trimmed > 0 then redis.pcall('HINCRBY', metrics_key, trimmed_counter, trimmed) end
return trimmed
