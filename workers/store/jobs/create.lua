-- Returns {code, original job id}; codes are ``jobs.Created``'s: 0 hook
-- changed, 1 written, 2 slot full, 3 duplicate, 4 key reused for another
-- request, 5 queue full, 6 the project's eventsPerMinute (then the seconds
-- until a token), 7 the project's storedBytes. Only 1 writes the job. An idempotency key holds
-- "<fingerprint> <job id>": a request is a duplicate only if its fingerprint
-- matches too. The message is a token (lanes/scripts.py): the job waits in its lane.
if hook_etag ~= '' then
  local etag = redis.call('HGET', hook_key, 'etag')
  if not etag then
    local def = redis.call('HGET', hook_key, 'def')
    etag = def and redis.sha1hex(def)
  end
  if etag ~= hook_etag then return {0, ''} end
end
if idempotency_key ~= '' then
  local bound = redis.call('GET', idempotency_key)
  if bound then
    local space = string.find(bound, ' ', 1, true)
    if not space or string.sub(bound, 1, space - 1) ~= fingerprint then return {4, ''} end
    if duplicate_counter ~= '' then redis.call('HINCRBY', metrics_key, duplicate_counter, 1) end
    return {3, string.sub(bound, space + 1)}
  end
end
-- lanes: backpressure (issue 14)
if max_queued ~= '' and redis.call('LLEN', pending_key) >= tonumber(max_queued) then
  return {5, ''}
end
-- end lanes
-- ordering (issue 24): the cap counts jobs waiting for their key; a resume's rerun
if order_id ~= '' then
  local refused = order_refusal(hook_id, order_id, pending_key, max_queued, order_takeover)
  if refused then return {refused, ''} end
end
-- the project's storedBytes, past it with nothing to trim (access/storage.py)
if store_full_key ~= '' and redis.call('EXISTS', store_full_key) == 1 then return {7, ''} end
-- the project's eventsPerMinute (access/rate.lua): {6, seconds to wait}
local rate_ok, rate_tokens, rate_now, rate_wait
if rate_key ~= '' then
  rate_ok, rate_tokens, rate_now, rate_wait = rate_check(rate_key, events_per_minute)
  if not rate_ok then return {6, tostring(rate_wait)} end
end
if slot_key ~= '' then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
  local lapse = tonumber(slot_lapse_s)
  -- Counted, not tidied, first: the step's first write must be one Redis
  -- refuses at maxmemory (ZADD), or Redis lets all of its writes past it.
  if redis.call('ZCOUNT', slot_key, '(' .. now, '+inf') >= tonumber(slot_max) then
    return {2, ''}
  end
  redis.call('ZADD', slot_key, now + lapse, job_id)
  redis.call('ZREMRANGEBYSCORE', slot_key, '-inf', now)
  redis.call('EXPIRE', slot_key, math.ceil(lapse) + 1)
end
if rate_key ~= '' then rate_spend(rate_key, rate_tokens, rate_now, events_per_minute) end
-- No expiry: a queued or running job never expires; FINISH gives it one.
redis.call('HSET', job_key, unpack(ARGV, TAIL))
if idempotency_key ~= '' then
  -- Bound to the job until the job expires (FINISH expires it with the job).
  redis.call('SET', idempotency_key, fingerprint .. ' ' .. job_id)
  redis.call('HSET', job_key, 'idempotencyKey', idempotency_key)
end
local history = tonumber(history_size)
if history > 0 then
  redis.call('LPUSH', history_key, job_id)
  redis.call('LTRIM', history_key, 0, history - 1)
end
local token_queue = queue_key
if lingering_key ~= '' then
  -- A sync job: with a child lingering on the sync lane (lanes/linger.py),
  -- its token is parked for that child, who is woken and spends it as it
  -- takes the job (Celery's delivery, a hop of its own, is spared).
  if redis.call('ZCOUNT', lingering_key, created_at, '+inf') > 0 then
    token_queue = parked_key
    redis.call('RPUSH', wake_key, '1')
    redis.call('EXPIRE', wake_key, 60)
  else
    hand_parked_to_celery(parked_key, queue_key)  -- a lingering child died
  end
end
if order_id == '' or order_admit(
  hook_id, order_id, order_key, job_key, job_id, token_queue, message, order_takeover
) then
  join_lane(pending_key, ready_key, lane_hook, token_queue, job_id, message)
end
if replayed_key ~= '' then mark_replayed(replayed_key, job_id) end
index_new(hook_id, job_id, created_at, searchable == '1')
if accepted_counter ~= '' then redis.call('HINCRBY', metrics_key, accepted_counter, 1) end
return {1, ''}
