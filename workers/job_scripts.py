"""The Lua scripts behind ``JobStore``'s atomic steps (workers/jobs.py).

Each runs as one Redis command: all of its writes happen, or, where it
refuses, none. Redis does not roll back a script that errors midway, so the
writes that matter come first and optional ones (metrics) use ``pcall``.
"""

__all__ = ["CREATE", "START", "FINISH"]

# KEYS: job hash, history list, queue list, metrics hash, hook hash, slot
# counter ('' for none), idempotency key ('' for none).
# ARGV: retention, history size, job id, task message, accepted counter field
# ('' for none), the hook's expected etag ('' for no check), the slot's
# maximum, duplicate counter field, seconds until a slot lapses, then the
# job's field/value pairs.
# Returns {code, original job id}; codes are ``jobs.Created``'s: 0 hook
# changed, 1 written, 2 slot full, 3 duplicate. Only 1 writes the job.
CREATE = """
if ARGV[6] ~= '' then
  local etag = redis.call('HGET', KEYS[5], 'etag')
  if not etag then
    local def = redis.call('HGET', KEYS[5], 'def')
    etag = def and redis.sha1hex(def)
  end
  if etag ~= ARGV[6] then return {0, ''} end
end
if KEYS[7] ~= '' then
  local original = redis.call('GET', KEYS[7])
  if original then
    if ARGV[8] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[8], 1) end
    return {3, original}
  end
end
if KEYS[6] ~= '' then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
  local lapse = tonumber(ARGV[9])
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
  if redis.call('ZCARD', KEYS[6]) >= tonumber(ARGV[7]) then return {2, ''} end
  redis.call('ZADD', KEYS[6], now + lapse, ARGV[3])
  redis.call('EXPIRE', KEYS[6], math.ceil(lapse) + 1)
end
redis.call('HSET', KEYS[1], unpack(ARGV, 10))
redis.call('EXPIRE', KEYS[1], ARGV[1])
if KEYS[7] ~= '' then redis.call('SET', KEYS[7], ARGV[3], 'EX', ARGV[1]) end
local history = tonumber(ARGV[2])
if history > 0 then
  redis.call('LPUSH', KEYS[2], ARGV[3])
  redis.call('LTRIM', KEYS[2], 0, history - 1)
end
redis.call('LPUSH', KEYS[3], ARGV[4])
if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[5], 1) end
return {1, ''}
"""

# KEYS: job hash, running zset. ARGV: job id, worker, now (s), margin (ms).
# Returns {} for a missing job, else {run?, field, value, ...}.
START = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local status = redis.call('HGET', KEYS[1], 'status')
local run = 0
if status ~= 'succeeded' and status ~= 'failed' then
  run = 1
  local timeout_ms = tonumber(redis.call('HGET', KEYS[1], 'timeoutMs') or '60000')
  local deadline = tonumber(ARGV[3]) + (timeout_ms + tonumber(ARGV[4])) / 1000
  redis.call('HSET', KEYS[1], 'status', 'running', 'startedAt', ARGV[3], 'worker', ARGV[2])
  redis.call('ZADD', KEYS[2], deadline, ARGV[1])
end
local reply = redis.call('HGETALL', KEYS[1])
table.insert(reply, 1, run)
return reply
"""

# KEYS: job hash, running zset, done list, list to push to ('' for none),
# metrics hash, child RSS hash.
# ARGV: job id, retention, message to push, child ('' for none), its RSS,
# the number N of counters, N counter/amount pairs, then field/value pairs.
FINISH = """
if ARGV[4] ~= '' then redis.call('HSET', KEYS[6], ARGV[4], ARGV[5]) end
local status = redis.call('HGET', KEYS[1], 'status')
if status == false or status == 'succeeded' or status == 'failed' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
local fields_from = 7 + 2 * tonumber(ARGV[6])
for i = fields_from, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
if KEYS[4] ~= '' then redis.call('LPUSH', KEYS[4], ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], '1')
redis.call('EXPIRE', KEYS[3], 60)
-- Metrics last, and with pcall: a script that errors is not rolled back, so
-- a bad counter must never cut the job's own writes short.
for i = 7, fields_from - 1, 2 do
  if string.find(ARGV[i + 1], '.', 1, true) then
    redis.pcall('HINCRBYFLOAT', KEYS[5], ARGV[i], ARGV[i + 1])
  else
    redis.pcall('HINCRBY', KEYS[5], ARGV[i], ARGV[i + 1])
  end
end
return 1
"""
