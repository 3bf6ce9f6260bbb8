-- Records a job's outcome unless it is already final (and unbinds the token
-- that claimed it); then, if take_queue_key is a queue, takes the next job as
-- lanes/take.lua does (one round trip per job for a child that runs queued
-- jobs back to back): jobs/finish_take.lua, after the take's functions.
-- Returns {recorded (1) or already final (0), take()'s reply...}.
local function finish()
  if child ~= '' then redis.call('HSET', child_rss_key, child, child_rss) end
  -- Every field this step reads of the job, in one call.
  local job = redis.call(
    'HMGET', job_key, 'status', 'token', 'retentionS', 'idempotencyKey', 'hookId', 'lane',
    'orderId', 'orderBlock'
  )
  local status = job[1]
  if status == false or status == SUCCEEDED or status == FAILED then
    redis.call('ZREM', running_key, job_id)
    return 0
  end
  local fields_from = TAIL + 2 * tonumber(counters_n)
  redis.call('HSET', job_key, unpack(ARGV, fields_from))
  -- An ordered job's callback may wait for its key's earlier one (ordering/callbacks.lua).
  local callback_waits = push_key ~= '' and job[7] and order_callback_waits(
    job[5], job[7], job_key, job_id, push_key, push_message
  )
  if push_key ~= '' and not callback_waits then
    redis.call('LPUSH', push_key, push_message)
  end
  -- Its key passes to the next job, or stays blocked by a failure (ordering/order.lua).
  local blocks = job[7] and order_finished(job[5], job[7], job_id, job[8] == '1', failed == '1')
  if job[2] then redis.call('DEL', token_prefix .. job[2]) end
  -- Retention counts from now (the hook's own retentionS if set), for the
  -- job, its idempotency key and its index entries alike; the budget's index
  -- of finished jobs is by finish time.
  local now = now_ms()
  local keep_ms = 1000 * tonumber(job[3] or retention_s)
  if blocks then
    -- It blocks its key: kept, untrimmed, until a resume gives it keep_ms.
    redis.call('HSET', job_key, 'orderKeepMs', string.format('%d', keep_ms))
  else
    -- A callback waiting for its turn keeps its job (no expiry, as a queued
    -- job's) until it is sent: its delivery's end gives the job its retention.
    if not callback_waits then expire_at(job_key, job_id, now + keep_ms, false, job[5] or '') end
    if job[4] then redis.call('PEXPIRE', job[4], keep_ms) end
    redis.call('ZADD', finished_key, string.format('%.6f', now / 1000), job_id)
  end
  redis.call('ZREM', running_key, job_id)
  -- The done list only for a waiter that said it waits (jobs.waits): no
  -- key made and expired again for every job nobody waits for.
  if redis.call('EXISTS', waiting_key) == 1 then
    redis.call('RPUSH', done_key, '1')
    redis.call('EXPIRE', done_key, 60)
  end
  if job[6] == 'sync' then
    -- The caller's slot is free as its answer goes out (the web then has
    -- nothing to write back), and the answer travels with the publish.
    if job[5] and job[5] ~= '' then redis.call('ZREM', inflight_prefix .. job[5], job_id) end
    if answer_message ~= '' then
      redis.call('PUBLISH', answer_channel, answer_message)
    else
      redis.call('PUBLISH', done_channel, job_id)
    end
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
-- Most calls end here (nothing to take, no token owed), before the take's
-- functions are defined (finish.py includes them after this file): defining
-- them costs Redis CPU on every call.
if take_queue_key == '' and not (return_owed == '1' and recorded == 1 and take_held_key ~= ''
    and tonumber(redis.call('GET', take_held_key) or '0') > 0) then
  return {recorded}
end
