-- Appends an attempt to the job's list and sets the delivery's status,
-- unless the job is gone. Pending: due again at next_at, and kept its
-- retention past that. Ended: kept its retention from now; a failed
-- delivery of a job its hook still owns is searchable (the console's
-- redeliver). Returns 1, or 0 (gone).
if redis.call('EXISTS', job_key) == 0 then
  redis.call('ZREM', due_key, job_id)
  return 0
end
local attempts = redis.call('HGET', job_key, 'deliveries')
if attempts and string.sub(attempts, -1) == ']' and attempts ~= '[]' then
  attempts = string.sub(attempts, 1, -2) .. ',' .. attempt .. ']'
else
  attempts = '[' .. attempt .. ']'
end
redis.call('HSET', job_key, 'deliveries', attempts, 'deliveryStatus', status)
local job = redis.call('HMGET', job_key, 'hookId', 'orderKeepMs')
local hook = job[1] or ''
if status == failed and owned(hook, job_id)
    and redis.call('ZSCORE', index_expiry_key, job_id) then
  local created = redis.call('HGET', job_key, 'createdAt') or '0'
  redis.call('ZADD', delivery_failed_index_key, created, job_id)
else
  redis.call('ZREM', delivery_failed_index_key, job_id)
end
local keep_ms = retention_ms(job_key, retention_s)
local now = now_ms()
if next_at == '' then
  order_callback_done(job_key, job_id)  -- an ordered hook: the key's next callback goes
  redis.call('HDEL', job_key, 'deliveryNextAt')
  redis.call('ZREM', due_key, job_id)
  -- A failed job blocking its ordering key is kept until resumed (ordering/order.lua).
  if not job[2] then
    expire_at(job_key, job_id, now + keep_ms, false, hook)
    redis.call('ZADD', finished_key, string.format('%.6f', now / 1000), job_id)
  end
else
  redis.call('HSET', job_key, 'deliveryNextAt', next_at)
  redis.call('ZADD', due_key, next_at, job_id)
  local due_ms = math.max(now, math.floor(tonumber(next_at) * 1000))
  expire_at(job_key, job_id, due_ms + keep_ms, true)
end
return 1
