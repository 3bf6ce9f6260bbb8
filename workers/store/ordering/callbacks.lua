-- Ordered callbacks (issue 24): the callback of a key's next job goes out
-- only once the one before it was delivered or gave up. The key's
-- ``callbackHolder`` is the job whose callback is out; later ones wait in
-- the key's callbacks list, their task message in their hash
-- (orderCallback, orderCallbackQueue). Needs order_base() (base.lua) and
-- order_job_prefix.

-- The next waiting callback goes out (or none waits: the turn is free).
local function order_callback_next(base)
  while true do
    local next_id = redis.call('LPOP', base .. ':callbacks')
    if not next_id then
      redis.call('HDEL', base, 'callbackHolder')
      if redis.call('HEXISTS', base, 'holder') == 0 then redis.call('DEL', base) end
      return false
    end
    local key = order_job_prefix .. next_id
    local got = redis.call('HMGET', key, 'orderCallback', 'orderCallbackQueue')
    if got[1] then
      redis.call('HDEL', key, 'orderCallback', 'orderCallbackQueue')
      redis.call('HSET', base, 'callbackHolder', next_id)
      redis.call('LPUSH', got[2], got[1])
      return next_id
    end
  end
end

-- FINISH: true if the job's callback must wait for an earlier one of its
-- key (then it is kept, not pushed); false: it is the key's turn now.
local function order_callback_waits(hook, id, job_key, job_id, queue, message)
  local base = order_base(hook, id)
  local holder = redis.call('HGET', base, 'callbackHolder')
  if holder and holder ~= job_id
      and redis.call('EXISTS', order_job_prefix .. holder) == 0 then
    order_callback_next(base)  -- its job is gone (deleted): the turn passes on
    holder = redis.call('HGET', base, 'callbackHolder')
  end
  if holder and holder ~= job_id then
    redis.call('RPUSH', base .. ':callbacks', job_id)
    redis.call('HSET', job_key, 'orderCallback', message, 'orderCallbackQueue', queue)
    return true
  end
  redis.call('HSET', base, 'callbackHolder', job_id)
  return false
end

-- A delivery ended (delivered, or gave up): the key's next callback goes.
local function order_callback_done(job_key, job_id)
  local job = redis.call('HMGET', job_key, 'hookId', 'orderId')
  if not job[2] then return end
  local base = order_base(job[1], job[2])
  if redis.call('HGET', base, 'callbackHolder') == job_id then order_callback_next(base) end
end
