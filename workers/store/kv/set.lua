-- Returns {status, message}: 'ok', or 'entries' / 'bytes' / 'project_bytes' for a quota.
sweep(now, 100)
local m = redis.call('HGET', meta, key)
local live = false
if m then
  local exp = tonumber(string.match(m, ' (%d+)$'))
  live = exp == 0 or exp > tonumber(now)
end
local old = redis.call('HGET', data, key)
local old_len = 0
if old and live then old_len = string.len(old) end
local stats_entries = tonumber(redis.call('HGET', stats, 'entries') or '0')
local stats_bytes = tonumber(redis.call('HGET', stats, 'bytes') or '0')
local entries = stats_entries
if not (old and live) then entries = entries + 1 end
if old and not live then
  entries = entries - 1
  stats_bytes = stats_bytes - string.len(old)
end
if entries > tonumber(max_entries) then return {'entries', entries} end
local total = stats_bytes - old_len + string.len(value)
if total > tonumber(max_total_bytes) then return {'bytes', total} end
-- The project's kvBytes (access/quotas.py): this hook's total after the
-- write plus the other hooks' stats (ARGV from TAIL: their stats keys).
if project_max_bytes ~= '' then
  local sum = total
  for i = TAIL, #ARGV do sum = sum + tonumber(redis.call('HGET', ARGV[i], 'bytes') or '0') end
  if sum > tonumber(project_max_bytes) then return {'project_bytes', sum} end
end
if live and if_absent == '1' then return {'ok', 0} end
remove(key)
redis.call('HSET', data, key, value)
redis.call('HSET', meta, key, now .. ' ' .. expires_at)
redis.call('ZADD', index, 0, key)
if expires_at ~= '0' then redis.call('ZADD', expiry, expires_at, key) end
redis.call('HINCRBY', stats, 'entries', 1)
redis.call('HINCRBY', stats, 'bytes', string.len(value))
return {'ok', 1}
