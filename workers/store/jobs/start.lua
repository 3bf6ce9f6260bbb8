-- Begins one given job (lanes/begin.lua), taking it out of its lane: for
-- tests and tools that start a job by id; workers claim and take.
local hook = redis.call('HGET', job_key, 'hookId')
if hook then
  local sync = redis.call('HGET', job_key, 'lane') == 'sync'
  if sync and hook == '' then hook = '_test' end
  local list = (sync and sync_prefix or pending_prefix) .. hook
  if redis.call('LREM', list, 1, job_id) == 1 and redis.call('LLEN', list) == 0 then
    redis.call('LREM', sync and sync_ready_key or ready_key, 1, hook)
  end
end
return begin(job_key, running_key, job_id, worker, now, margin_ms, hook_prefix)
