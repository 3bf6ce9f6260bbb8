-- A lingering child (lanes/linger.py) stops lingering: it leaves the
-- lingering set and, with and_take, takes the next job as take() does (the
-- sync lane first, spending a parked token). Once no child lingers, tokens
-- still parked go to Celery's sync queue and stale wakes are dropped.
-- Returns {} when nothing was taken, else {job id, begin()'s reply...}.
redis.call('ZREM', lingering_key, take_worker)
local reply = {}
if and_take == '1' then
  reply = take(sync_ready_key, ready_key, sync_queue_key, queue_key, running_key)
end
if redis.call('ZCOUNT', lingering_key, take_now, '+inf') == 0 then
  hand_parked_to_celery(take_parked_key, sync_queue_key)
  redis.call('DEL', wake_key)
  redis.call('ZREMRANGEBYSCORE', lingering_key, '-inf', take_now)
end
return reply
