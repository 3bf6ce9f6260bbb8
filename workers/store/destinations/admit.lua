-- Decides whether a callback of job_id may be sent to its destination now.
-- Open breaker: the delivery is parked (no attempt spent) until a probe
-- closes it. Half-open: one probe at a time, under a lease. Closed (or the
-- probe): the hook's token bucket (GCRA) gives it a slot; a slot still to
-- come puts it in the due-set for then. A delivery that already ended (a
-- stale copy) is not sent again. Returns {verdict, due at (s) or ''}.
local now = now_ms()
local function secs(ms) return string.format('%.3f', ms / 1000) end
redis.call('ZREM', parked_key, job_id)
if redis.call('EXISTS', job_key) == 0 then
  redis.call('ZREM', pending_key, job_id)
  return {verdict_gone, ''}
end
local delivery = redis.call('HGET', job_key, 'deliveryStatus')
if delivery and delivery ~= pending then  -- a stale copy: the delivery has ended
  redis.call('ZREM', pending_key, job_id)
  return {verdict_ended, ''}
end
local keep_ms = retention_ms(job_key, retention_s)
redis.call('ZADD', destinations_key, secs(now), dest)
redis.call('ZREMRANGEBYSCORE', pending_key, '-inf', secs(now))
redis.call('ZADD', pending_key, secs(now + keep_ms), job_id)

local function park(until_ms)
  -- Scored to the microsecond: deliveries parked in the same millisecond
  -- keep their order, so the probe is the oldest one.
  local t = redis.call('TIME')
  redis.call('ZADD', parked_key, t[1] .. '.' .. string.format('%06d', tonumber(t[2])), job_id)
  redis.call('ZADD', wake_key, 'NX', secs(until_ms), dest)
  redis.call('HSET', job_key, 'deliveryNextAt', secs(until_ms))
  redis.call('HDEL', job_key, 'deliverySlot')  -- a rate slot is not kept while parked
  expire_at(job_key, job_id, until_ms + keep_ms, true)
  return {verdict_park, secs(until_ms)}
end

local verdict = verdict_send
local state = redis.call('HMGET', state_key, 'openUntil', 'probe', 'probeUntil')
local open_until = tonumber(state[1] or '0')
if open_until > 0 then
  if now < open_until then return park(open_until) end
  local lease = tonumber(state[3] or '0')
  if state[2] and state[2] ~= job_id and lease > now then return park(lease) end
  verdict = verdict_probe
  redis.call('HSET', state_key, 'probe', job_id, 'probeUntil', now + tonumber(lease_ms))
  redis.call('ZADD', wake_key, secs(now + tonumber(lease_ms)), dest)
end

if rate_per_s ~= '' then
  local slot = tonumber(redis.call('HGET', job_key, 'deliverySlot') or '0')
  if slot == 0 then  -- reserve the next slot of the hook's bucket
    local rate = tonumber(rate_per_s)
    local interval = 1000 / rate
    local tau = (math.max(1, rate) - 1) * interval  -- a burst of one second's calls
    local tat = math.max(tonumber(redis.call('GET', rate_key) or '0'), now)
    slot = math.max(now, tat - tau)
    local next_tat = tat + interval
    redis.call('SET', rate_key, string.format('%.3f', next_tat),
               'PXAT', math.floor(next_tat + tau + 1000))
  end
  if slot > now + tonumber(slack_ms) then
    redis.call('HSET', job_key, 'deliverySlot', string.format('%.3f', slot),
               'deliveryNextAt', secs(slot))
    redis.call('ZADD', due_key, secs(slot), job_id)
    expire_at(job_key, job_id, math.floor(slot) + keep_ms, true)
    if verdict == verdict_probe then  -- the lease holds until the slot has come
      local until_ms = slot + tonumber(lease_ms)
      redis.call('HSET', state_key, 'probeUntil', until_ms)
      redis.call('ZADD', wake_key, secs(until_ms), dest)
    end
    return {verdict_wait, secs(slot)}
  end
  redis.call('HDEL', job_key, 'deliverySlot')
end
return {verdict, ''}
