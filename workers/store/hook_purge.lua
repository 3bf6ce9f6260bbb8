-- Takes each job out of every index and the callbacks' due-set, and deletes
-- it (and its done token) unless it is still queued or running: such a job is
-- left to end (queued: as hook_gone; its sender may poll it), indexed nowhere,
-- and then expires with its retention. Returns how many were deleted.
local deleted = 0
for i = TAIL, #ARGV do
  local id = ARGV[i]
  local key = job_prefix .. id
  local status = redis.call('HGET', key, 'status')
  unindex(id, hook_id)
  redis.call('ZREM', due_key, id)
  if status ~= QUEUED and status ~= RUNNING then
    redis.call('ZREM', finished_key, id)
    redis.call('DEL', key, done_prefix .. id)
    deleted = deleted + 1
  end
end
return deleted
