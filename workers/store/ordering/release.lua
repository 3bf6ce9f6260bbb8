-- A deleted hook's ordering keys (ARGV from TAIL: key ids): every job
-- waiting for its key joins the hook's lane with its token (it then ends as
-- hook_gone, as the hook's other queued jobs do), and the keys' records go.
for i = TAIL, #ARGV do
  local id = ARGV[i]
  local base = order_base(hook_id, id)
  order_unblock(base, hook_id, id)
  while order_release(hook_id, id, base) do end
  redis.call('DEL', base, base .. ':jobs', base .. ':callbacks')
end
redis.call('HDEL', order_waiting_key, hook_id)
return 1
