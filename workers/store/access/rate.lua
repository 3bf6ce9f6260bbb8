-- A project's eventsPerMinute (issue 23): a token bucket in one hash shared
-- by every web process, {tokens, at}. It holds at most a minute's worth and
-- refills at per_minute / 60 a second. CREATE checks it (rate_check) before
-- any refusal that writes, and spends the token (rate_spend) only once the
-- job is written, so a refused event costs no token.
local function rate_check(bucket, per_minute)
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
  local cap = tonumber(per_minute)
  local state = redis.call('HMGET', bucket, 'tokens', 'at')
  local tokens = tonumber(state[1]) or cap
  local at = tonumber(state[2]) or now
  local rate = cap / 60
  if now > at then tokens = math.min(cap, tokens + (now - at) * rate) end
  if tokens >= 1 then return true, tokens, now, 0 end
  if rate <= 0 then return false, tokens, now, 60 end
  return false, tokens, now, math.max(1, math.ceil((1 - tokens) / rate))
end

local function rate_spend(bucket, tokens, now, per_minute)
  redis.call('HSET', bucket, 'tokens', tostring(tokens - 1), 'at', tostring(now))
  -- Full again after a minute at most: then it needs no key.
  redis.call('EXPIRE', bucket, 61)
end
