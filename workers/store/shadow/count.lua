-- One shadow run's outcome counted for the draft whose etag is given: the
-- counts and the recent list start again when the draft changed, and both
-- expire with the jobs' retention.
local function shadow_count(etag, outcome, entry)
  if redis.call('HGET', results_key, 'etag') ~= etag then
    redis.call('DEL', results_key, recent_key)
    redis.call('HSET', results_key, 'etag', etag)
  end
  redis.call('HINCRBY', results_key, outcome, 1)
  if entry ~= '' then
    redis.call('LPUSH', recent_key, entry)
    redis.call('LTRIM', recent_key, 0, tonumber(recent_max) - 1)
  end
  redis.call('EXPIRE', results_key, ttl_s)
  redis.call('EXPIRE', recent_key, ttl_s)
  redis.call('HINCRBY', metrics_key, metrics_field, 1)
end
