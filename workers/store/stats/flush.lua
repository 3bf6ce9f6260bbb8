-- KEYS: the hashes and queues one flush touches. ARGV[1]: the hashes' TTL,
-- then (key index, op, field, value) per merged field. ``i`` adds, ``s`` sets,
-- ``x`` keeps the larger; ``q``'s value is a queue's key index: the field
-- keeps the larger of itself and that queue's length, read once per flush.
-- Each touched hash gets its expiry once per flush.
local ttl = ARGV[1]
local depths, touched = {}, {}
for i = 2, #ARGV, 4 do
  local key = KEYS[tonumber(ARGV[i])]
  local op, field, value = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if op == 'i' then
    redis.call('HINCRBY', key, field, value)
  elseif op == 's' then
    redis.call('HSET', key, field, value)
  else
    if op == 'q' then
      local queue = KEYS[tonumber(value)]
      if depths[queue] == nil then depths[queue] = redis.call('LLEN', queue) end
      value = depths[queue]
    end
    local old = tonumber(redis.call('HGET', key, field))
    if old == nil or tonumber(value) > old then redis.call('HSET', key, field, value) end
  end
  touched[key] = true
end
for key in pairs(touched) do redis.call('EXPIRE', key, ttl) end
return 1
