"""The Lua scripts behind ``JobStore``'s atomic steps (workers/jobs.py).

Each runs as one Redis command: all of its writes happen, or, where it
refuses, none. Redis does not roll back a script that errors midway, so the
writes that matter come first and optional ones (metrics) use ``pcall``.
"""

__all__ = ["CREATE", "START", "TAKE", "FINISH"]

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

# Begins an attempt unless the job already ended: counts it and marks the job
# running with a deadline in the running zset (what the reaper watches).
# Returns {} for a missing job, else {run?, field, value, ...}.
_BEGIN = """
local function begin(job_key, running, job_id, worker, now, margin_ms)
  if redis.call('EXISTS', job_key) == 0 then return {} end
  local status = redis.call('HGET', job_key, 'status')
  local run = 0
  if status ~= 'succeeded' and status ~= 'failed' then
    run = 1
    redis.call('HINCRBY', job_key, 'attempts', 1)
    local timeout_ms = tonumber(redis.call('HGET', job_key, 'timeoutMs') or '60000')
    local deadline = tonumber(now) + (timeout_ms + tonumber(margin_ms)) / 1000
    redis.call('HSET', job_key, 'status', 'running', 'startedAt', now, 'worker', worker)
    redis.call('ZADD', running, deadline, job_id)
  end
  local reply = redis.call('HGETALL', job_key)
  table.insert(reply, 1, run)
  return reply
end
"""

# KEYS: job hash, running zset. ARGV: job id, worker, now (s), margin (ms).
START = (
    _BEGIN
    + """
return begin(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
"""
)

# Takes the oldest message of a Celery queue list and begins its job, in the
# same step, so a job taken off the queue is always in the running zset (and
# so reaped if the child dies). The message is put back, and nothing taken,
# unless it is a ``task`` message without an ETA whose id is a stored job's,
# and the job's hard deadline (timeoutMs + margin from now) falls before
# ``latest`` (the end of the taking task's own time limit).
# Returns {} when nothing was taken, else {job id, begin()'s reply...}.
_TAKE = """
local function take(queue, running, worker, now, margin_ms, task, job_prefix, latest)
  local message = redis.call('RPOP', queue)
  if not message then return {} end
  local ok, decoded = pcall(cjson.decode, message)
  local headers = ok and type(decoded) == 'table' and decoded.headers
  local job_key = type(headers) == 'table' and type(headers.id) == 'string'
    and job_prefix .. headers.id
  local fits = false
  if job_key and headers.task == task and (headers.eta == nil or headers.eta == cjson.null) then
    if redis.call('EXISTS', job_key) == 1 then
      local timeout_ms = tonumber(redis.call('HGET', job_key, 'timeoutMs') or '60000')
      fits = tonumber(now) + (timeout_ms + tonumber(margin_ms)) / 1000 <= tonumber(latest)
    end
  end
  if not fits then
    redis.call('RPUSH', queue, message)
    return {}
  end
  local reply = begin(job_key, running, headers.id, worker, now, margin_ms)
  table.insert(reply, 1, headers.id)
  return reply
end
"""

# KEYS: queue list, running zset. ARGV: worker, now (s), margin (ms), task
# name, job key prefix, latest deadline (s).
TAKE = (
    _BEGIN
    + _TAKE
    + """
return take(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
"""
)

# Records a job's outcome unless it is already final; then, if KEYS[7] is a
# queue, takes the next job off it as TAKE does (one round trip per job for a
# child that runs queued jobs back to back).
# KEYS: job hash, running zset, done list, list to push to ('' for none),
# metrics hash, child RSS hash, queue to take from ('' for none).
# ARGV: job id, retention, message to push, child ('' for none), its RSS,
# the number N of counters, then TAKE's ARGV (worker, now, margin, task name,
# job key prefix, latest deadline; ignored without a queue), N counter/amount pairs,
# then field/value pairs.
# Returns {recorded (1) or already final (0), take()'s reply...}.
FINISH = (
    _BEGIN
    + _TAKE
    + """
local function finish()
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[6], ARGV[4], ARGV[5]) end
  local status = redis.call('HGET', KEYS[1], 'status')
  if status == false or status == 'succeeded' or status == 'failed' then
    redis.call('ZREM', KEYS[2], ARGV[1])
    return 0
  end
  local fields_from = 13 + 2 * tonumber(ARGV[6])
  for i = fields_from, #ARGV, 2 do
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  if KEYS[4] ~= '' then redis.call('LPUSH', KEYS[4], ARGV[3]) end
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('RPUSH', KEYS[3], '1')
  redis.call('EXPIRE', KEYS[3], 60)
  -- Metrics last, and with pcall: a script that errors is not rolled back,
  -- so a bad counter must never cut the job's own writes short.
  for i = 13, fields_from - 1, 2 do
    if string.find(ARGV[i + 1], '.', 1, true) then
      redis.pcall('HINCRBYFLOAT', KEYS[5], ARGV[i], ARGV[i + 1])
    else
      redis.pcall('HINCRBY', KEYS[5], ARGV[i], ARGV[i + 1])
    end
  end
  return 1
end

local recorded = finish()
if KEYS[7] == '' then return {recorded} end
local taken = take(KEYS[7], KEYS[2], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12])
table.insert(taken, 1, recorded)
return taken
"""
)
