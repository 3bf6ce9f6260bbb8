-- join_lane(): a queued job joins the end of its hook's list in its lane (the
-- hook joins the lane's rotation if the list was empty), and its token the
-- queue: how CREATE queues a job and REQUEUE queues it again.
local function join_lane(pending, ready, hook, queue, id, token_message)
  redis.call('RPUSH', pending, id)
  if hook ~= '' and redis.call('LLEN', pending) == 1 then redis.call('RPUSH', ready, hook) end
  redis.call('LPUSH', queue, token_message)
end
