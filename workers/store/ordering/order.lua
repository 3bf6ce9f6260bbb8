-- Per-key ordering (issue 24, workers/ordering.py): one job of a key at a
-- time, in the order CREATE accepted them. The key's ``holder`` is the job
-- that has it: queued in its lane, running (a rerun after a child died keeps
-- it: nothing here sees a requeue), or failed and blocking. Every other job
-- of the key waits in its list, outside the lane and without a token: its
-- token message waits in its hash (orderToken, orderQueue) until FINISH or a
-- resume passes the key on. Needs order_base() (base.lua), join_lane(), and
-- order_blocked_prefix, order_waiting_key, order_job_prefix,
-- order_pending_prefix, order_ready_key, order_finished_key,
-- order_pending_delivery (ordering/scripts.py: OrderArgs), and jobs/index.lua
-- (expire_at) with its keys.
-- A failed job blocking its key is kept while it does (no expiry, out of the
-- budget's finished index, untouched by trims): a resume without skip must
-- find it. Its hash's ``orderKeepMs`` marks it, and is the retention it gets
-- back once the key is resumed (rerun or skip) or its hook released.

-- Waiting jobs show the failed job that blocks them (blockedBy), or not.
local function order_mark_waiting(base, blocked_by)
  for _, waiting in ipairs(redis.call('LRANGE', base .. ':jobs', 0, -1)) do
    if blocked_by then
      redis.call('HSET', order_job_prefix .. waiting, 'blockedBy', blocked_by)
    else
      redis.call('HDEL', order_job_prefix .. waiting, 'blockedBy')
    end
  end
end

-- The job that blocked a key gets its retention back, from now: its key,
-- idempotency key and index entries together, as FINISH would have.
local function order_keep_again(job_id)
  if not job_id then return end
  local job_key = order_job_prefix .. job_id
  local got = redis.call(
    'HMGET', job_key, 'orderKeepMs', 'idempotencyKey', 'hookId', 'deliveryStatus', 'orderCallback'
  )
  if not got[1] then return end  -- gone, or kept the usual way
  redis.call('HDEL', job_key, 'orderKeepMs')
  if got[2] then redis.call('PEXPIRE', got[2], got[1]) end
  -- A callback still due (or waiting for its turn): its delivery's end does it.
  if got[4] == order_pending_delivery or got[5] then return end
  local now = now_ms()
  expire_at(job_key, job_id, now + tonumber(got[1]), false, got[3] or '')
  redis.call('ZADD', order_finished_key, string.format('%.6f', now / 1000), job_id)
end

local function order_unblock(base, hook, id)
  if redis.call('HDEL', base, 'blockedAt') == 1 then
    redis.call('ZREM', order_blocked_prefix .. hook, id)
    order_mark_waiting(base, false)
    order_keep_again(redis.call('HGET', base, 'holder'))
  end
end

-- CREATE, before anything is written: {code} to refuse with, or nil. The
-- lane's cap counts the hook's waiting jobs too, but not for a rerun of a
-- blocked key's failed job (a resume): a key blocked long enough to fill the
-- cap with its own waiting jobs must still be resumable. That rerun needs
-- the key still blocked by the failed job.
local function order_refusal(hook, id, pending, max, takeover)
  if max ~= '' and takeover == '' then
    local waiting = tonumber(redis.call('HGET', order_waiting_key, hook) or '0')
    if redis.call('LLEN', pending) + waiting >= tonumber(max) then return 5 end
  end
  if takeover ~= '' then
    local base = order_base(hook, id)
    if redis.call('HGET', base, 'holder') ~= takeover
        or redis.call('HEXISTS', base, 'blockedAt') == 0 then
      return 8
    end
  end
  return nil
end

-- CREATE: true if the new job has the key now (it joins its lane); else it
-- waits in the key's list, its token kept for when the key passes to it.
local function order_admit(hook, id, key, job_key, job_id, queue, message, takeover)
  local base = order_base(hook, id)
  if takeover ~= '' then  -- checked free of doubt by order_refusal
    order_unblock(base, hook, id)
    redis.call('HSET', base, 'holder', job_id)
    return true
  end
  local holder = redis.call('HGET', base, 'holder')
  if not holder then
    redis.call('HSET', base, 'holder', job_id, 'key', key)
    return true
  end
  redis.call('RPUSH', base .. ':jobs', job_id)
  redis.call('HINCRBY', order_waiting_key, hook, 1)
  redis.call('HSET', job_key, 'orderToken', message, 'orderQueue', queue)
  if redis.call('HEXISTS', base, 'blockedAt') == 1 then
    redis.call('HSET', job_key, 'blockedBy', holder)
  end
  return false
end

-- The key passes to its next waiting job, which joins its lane with its
-- token; with none waiting the key is free. Returns that job's id or false.
local function order_release(hook, id, base)
  while true do
    local next_id = redis.call('LPOP', base .. ':jobs')
    if not next_id then
      redis.call('HDEL', base, 'holder')
      if redis.call('HEXISTS', base, 'callbackHolder') == 0 then redis.call('DEL', base) end
      return false
    end
    redis.call('HINCRBY', order_waiting_key, hook, -1)
    local key = order_job_prefix .. next_id
    local got = redis.call('HMGET', key, 'status', 'orderToken', 'orderQueue')
    if got[1] then redis.call('HDEL', key, 'orderToken', 'orderQueue', 'blockedBy') end
    if got[1] == QUEUED and got[2] then
      redis.call('HSET', base, 'holder', next_id)
      join_lane(order_pending_prefix .. hook, order_ready_key, hook, got[3], next_id, got[2])
      return next_id
    end
  end
end

-- FINISH (once per job): the job that held its key ended. A failure, when
-- the hook blocks on failure, keeps the key until a resume (returns true:
-- FINISH then keeps the job too); else it passes.
local function order_finished(hook, id, job_id, block, failed)
  local base = order_base(hook, id)
  if redis.call('HGET', base, 'holder') ~= job_id then return end  -- e.g. a replay
  if failed and block then
    local clock = redis.call('TIME')
    local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
    redis.call('HSET', base, 'blockedAt', string.format('%.6f', now))
    redis.call('ZADD', order_blocked_prefix .. hook, now, id)
    order_mark_waiting(base, job_id)
    return true
  end
  order_release(hook, id, base)
  return false
end
