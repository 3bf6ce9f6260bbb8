-- Removing one key, keeping the stats right: used by set, delete and sweep.
local function remove(k)
  local old = redis.call('HGET', data, k)
  if not old then return 0 end
  redis.call('HDEL', data, k)
  redis.call('HDEL', meta, k)
  redis.call('ZREM', index, k)
  redis.call('ZREM', expiry, k)
  redis.call('HINCRBY', stats, 'entries', -1)
  -- 0 - n, not -n: Lua's -0 reaches Redis as "-0", which HINCRBY refuses
  redis.call('HINCRBY', stats, 'bytes', 0 - string.len(old))
  return 1
end
local function sweep(now_s, limit)
  local due = redis.call('ZRANGEBYSCORE', expiry, '-inf', now_s, 'LIMIT', 0, limit)
  for _, k in ipairs(due) do remove(k) end
end
