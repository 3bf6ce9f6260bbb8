-- Puts a job that has not ended back at the end of its lane, with a token of
-- its own (status, lane and token in one step; the token that claimed it is
-- unbound); returns 1, or 0 and changes nothing if it is gone or ended. With
-- held_by (a dead child's node requeues its job at once), only a job that
-- child still holds in the running zset: that ZREM is the claim, as the
-- reaper's, so a job is requeued once whoever notices first.
if held_by ~= '' then
  if redis.call('HGET', job_key, 'worker') ~= held_by then return 0 end
  if redis.call('ZREM', running_key, job_id) == 0 then return 0 end
end
redis.call('ZREM', running_key, job_id)
local status = redis.call('HGET', job_key, 'status')
if status == false or status == SUCCEEDED or status == FAILED then return 0 end
local token = redis.call('HGET', job_key, 'token')
if token then
  redis.call('DEL', token_prefix .. token)
  redis.call('HDEL', job_key, 'token')
end
redis.call('HSET', job_key, 'status', QUEUED)
-- A job a child took but never ran (queue/held.py): its attempt is given back.
if refund == '1' then redis.call('HINCRBY', job_key, 'attempts', -1) end
join_lane(pending_key, ready_key, lane_hook, queue_key, job_id, message)
return 1
