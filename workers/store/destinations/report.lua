-- Records what an attempt said about its destination. healthy: the streak
-- ends; an open or half-open breaker closes and its parked deliveries are
-- due at once. failure: the streak grows; it opens the breaker at the
-- threshold, and a failed probe opens it again for twice the cooldown (up to
-- the maximum). Returns 1 when the breaker closed, 2 when it opened, else 0.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local now = now_ms()
local function secs(ms) return string.format('%.3f', ms / 1000) end
if ended == '1' then redis.call('ZREM', pending_key, job_id) end
local state = redis.call('HMGET', state_key, 'openUntil', 'probe', 'cooldownMs')
local open_until = tonumber(state[1] or '0')
local was_probe = state[2] == job_id
if was_probe then redis.call('HDEL', state_key, 'probe', 'probeUntil') end

if signal == signal_healthy then
  redis.call('HSET', state_key, 'failures', 0, 'lastSuccessAt', secs(now))
  if open_until == 0 then return 0 end
  redis.call('HSET', state_key, 'openUntil', 0, 'cooldownMs', 0)
  redis.call('HDEL', state_key, 'probe', 'probeUntil')
  redis.call('ZREM', wake_key, dest)
  local parked = redis.call('ZRANGE', parked_key, 0, -1)
  local at = secs(now)
  for first = 1, #parked, 500 do
    local args = {}
    for i = first, math.min(first + 499, #parked) do
      args[#args + 1] = at
      args[#args + 1] = parked[i]
    end
    redis.call('ZADD', due_key, unpack(args))
  end
  redis.call('DEL', parked_key)
  return 1
end

if signal == signal_failure then
  local failures = redis.call('HINCRBY', state_key, 'failures', 1)
  redis.call('HSET', state_key, 'lastError', error, 'lastErrorAt', secs(now))
  local cooldown = nil
  if was_probe and open_until > 0 then
    cooldown = math.min(tonumber(max_cooldown_ms), 2 * tonumber(state[3] or cooldown_ms))
  elseif open_until == 0 and failures >= tonumber(threshold) then
    cooldown = tonumber(cooldown_ms)
  end
  if cooldown == nil then return 0 end
  redis.call('HSET', state_key, 'openUntil', now + cooldown, 'cooldownMs', cooldown)
  redis.call('HINCRBY', state_key, 'opened', 1)
  redis.call('ZADD', wake_key, secs(now + cooldown), dest)
  return 2
end

-- Nothing said about the destination (no URL, hook gone): a probe that said
-- nothing gives its turn to the next parked delivery now.
if was_probe then redis.call('ZADD', wake_key, secs(now), dest) end
return 0
