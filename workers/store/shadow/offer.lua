-- A sampled live event offered to the shadow lane: queued if the hook has a
-- draft and the lane has room; counted as skipped if it has a draft but no
-- room (or its run kept no tape); nothing without a draft.
local draft = redis.call('GET', draft_key)
if not draft then
  return 0
end
if skip_why == '' and redis.call('LLEN', queue_key) < tonumber(queue_max) then
  redis.call('LPUSH', queue_key, message)
  return 1
end
shadow_count(redis.sha1hex(draft), 'skipped', '')
return 2
