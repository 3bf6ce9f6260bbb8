-- pick(): the next queued job: (id, the list it is in, its hook, the
-- rotation it came from), or false. pop(): removes it, and moves its hook to
-- the back of the rotation if the hook has more. They need take_sync_prefix
-- and take_pending_prefix.
local function pick_from(ready_key, prefix)
  while true do
    local hook = redis.call('LINDEX', ready_key, 0)
    if not hook then return false end
    local from = prefix .. hook
    local id = redis.call('LINDEX', from, 0)
    if id then return id, from, hook, ready_key end
    redis.call('LPOP', ready_key)  -- a hook with nothing queued has no turn
  end
end

local function pick(sync_ready_key, ready_key)
  local id, from, hook, rotation = pick_from(sync_ready_key, take_sync_prefix)
  if id then return id, from, hook, rotation end
  return pick_from(ready_key, take_pending_prefix)
end

local function pop(from, hook, rotation)
  redis.call('LPOP', from)
  redis.call('LPOP', rotation)
  if redis.call('LLEN', from) > 0 then redis.call('RPUSH', rotation, hook) end
end
