-- A destination whose wake-up has come: the oldest parked delivery is
-- returned to be queued (it becomes the half-open probe), and the wake-up
-- moves a lease ahead in case that probe never reports. With nothing
-- parked the wake-up ends. Returns the job id or false.
local score = redis.call('ZSCORE', wake_key, dest)
if not score or tonumber(score) > tonumber(now_s) then return false end
local oldest = redis.call('ZRANGE', parked_key, 0, 0)
if #oldest == 0 then
  redis.call('ZREM', wake_key, dest)
  return false
end
redis.call('ZADD', wake_key, string.format('%.3f', tonumber(now_s) + tonumber(lease_s)), dest)
return oldest[1]
