-- Records outcomes_n job outcomes, in the order the runs ended: each its own
-- outcome record in TAIL (jobs/finish.py OutcomeArgs, read by read_outcome()),
-- followed by its counter/amount pairs, then its field/value pairs. Each is
-- recorded unless its job is already final, as a FINISH of its own would.
-- Then, if take_queue_key is a queue, takes up to take_count jobs
-- (jobs/finish_take.lua, after the take's functions).
-- Returns {{per outcome: 0 already final, 1 recorded, 2 recorded and a token
-- owed to its project's held jobs pushed (its owed_message)}, {take() replies...}}.

-- Epoch ms, read once: the outcomes of one step are recorded at one instant.
local finish_ms = nil
local function finish_now()
  if not finish_ms then finish_ms = now_ms() end
  return finish_ms
end

-- Metrics with pcall: a script that errors is not rolled back, so a bad
-- counter must never cut the jobs' own writes short. The command follows
-- the amount's type ('.': a float), never its value.
local function increment(field, amount)
  if string.find(amount, '.', 1, true) then
    redis.pcall('HINCRBYFLOAT', metrics_key, field, amount)
  else
    redis.pcall('HINCRBY', metrics_key, field, amount)
  end
end

-- Several outcomes' increments are summed per field and added once each
-- after the last outcome (a batch of one hook's jobs shares its fields); a
-- single outcome's go straight in (summing would cost it more than it saves).
local sums, sum_fields, sum_floats = {}, {}, {}
local function count(field, amount)
  if outcomes_n == '1' then return increment(field, amount) end
  if not sums[field] then
    sums[field] = 0
    table.insert(sum_fields, field)
  end
  if string.find(amount, '.', 1, true) then sum_floats[field] = true end
  sums[field] = sums[field] + tonumber(amount)
end

local function add_counts()
  for _, field in ipairs(sum_fields) do
    if sum_floats[field] then
      redis.pcall('HINCRBYFLOAT', metrics_key, field, string.format('%.17g', sums[field]))
    else
      redis.pcall('HINCRBY', metrics_key, field, string.format('%d', sums[field]))
    end
  end
end

-- One outcome `o` whose counter pairs start at ARGV[from]: 1 if recorded,
-- 0 if its job had already ended (or is gone).
local function finish(o, from)
  local job_id = o.job_id
  local job_key = take_job_prefix .. job_id
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
  local fields_from = from + 2 * tonumber(o.counters_n)
  redis.call('HSET', job_key, unpack(ARGV, fields_from, fields_from + 2 * tonumber(o.fields_n) - 1))
  -- Counted as soon as it is final: an error further on (not rolled back)
  -- leaves it final, so no later FINISH records or counts it again.
  for i = from, fields_from - 1, 2 do count(ARGV[i], ARGV[i + 1]) end
  local push_key, failed = o.push_key, o.failed == '1'
  -- An ordered job's callback may wait for its key's earlier one (ordering/callbacks.lua).
  local callback_waits = push_key ~= '' and job[7] and order_callback_waits(
    job[5], job[7], job_key, job_id, push_key, o.push_message
  )
  if push_key ~= '' and not callback_waits then
    redis.call('LPUSH', push_key, o.push_message)
  end
  -- Its key passes to the next job, or stays blocked by a failure (ordering/order.lua).
  local blocks = job[7] and order_finished(job[5], job[7], job_id, job[8] == '1', failed)
  if job[2] then redis.call('DEL', token_prefix .. job[2]) end
  -- Retention counts from now (the hook's own retentionS if set), for the
  -- job, its idempotency key and its index entries alike; the budget's index
  -- of finished jobs is by finish time.
  local now = finish_now()
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
  if redis.call('EXISTS', waiting_prefix .. job_id) == 1 then
    local done_key = done_prefix .. job_id
    redis.call('RPUSH', done_key, '1')
    redis.call('EXPIRE', done_key, 60)
  end
  if job[6] == 'sync' then
    -- The caller's slot is free as its answer goes out (the web then has
    -- nothing to write back), and the answer travels with the publish.
    if job[5] and job[5] ~= '' then redis.call('ZREM', inflight_prefix .. job[5], job_id) end
    if o.answer_message ~= '' then
      redis.call('PUBLISH', answer_channel, o.answer_message)
    else
      redis.call('PUBLISH', done_channel, job_id)
    end
  end
  if failed then index_failed(job_key, job_id) end
  return 1
end

-- recorded[n]: outcome n's reply; owing[n]: {its job id, owed_key,
-- owed_message}, if it asks whether a token is owed (owed_key) and was recorded.
local recorded, owing = {}, {}
local function finish_all()
  local at = TAIL
  for n = 1, tonumber(outcomes_n) do
    local o
    o, at = read_outcome(at)
    recorded[n] = finish(o, at)
    if recorded[n] == 1 and o.owed_key ~= '' then
      owing[n] = {o.job_id, o.owed_key, o.owed_message}
    end
    at = at + 2 * (tonumber(o.counters_n) + tonumber(o.fields_n))
  end
end

-- Once per step, not per outcome: the child's latest RSS.
if child ~= '' then redis.call('HSET', child_rss_key, child, child_rss) end
local finished, failure = pcall(finish_all)
add_counts()  -- what was recorded is counted, even if a later outcome failed
if not finished then
  -- Answered as the refused command said it: through pcall Redis prefixes
  -- its error with the script's line, and an OOM refusal (nothing written)
  -- must stay one, so that the caller makes room and retries (with_room).
  local message = type(failure) == 'table' and failure.err or tostring(failure)
  return redis.error_reply(string.match(message, '^user_script:%d+: (%u+ .*)') or message)
end
-- Most calls end here (nothing to take, no token owed), before the take's
-- functions are defined (finish.py includes them after this file): defining
-- them costs Redis CPU on every call.
if take_queue_key == '' and (next(owing) == nil or take_held_key == ''
    or tonumber(redis.call('GET', take_held_key) or '0') <= 0) then
  return {recorded, {}}
end
