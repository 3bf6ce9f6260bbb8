-- Resume a blocked key, skipping its failed job: the key passes to the next
-- waiting job. Returns {1, that job's id or ''} or, when the key is not
-- blocked, {0, its holder or ''} and changes nothing. (A resume that reruns
-- the failed job is a CREATE that takes the key over: order.lua.)
local base = order_base(hook_id, key_id)
local holder = redis.call('HGET', base, 'holder')
if not holder or redis.call('HEXISTS', base, 'blockedAt') == 0 then return {0, holder or ''} end
order_unblock(base, hook_id, key_id)
return {1, order_release(hook_id, key_id, base) or ''}
