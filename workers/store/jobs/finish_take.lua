-- FINISH's second part (jobs/finish.lua records the outcome as `recorded`):
-- takes the next job (lanes/take_next.lua) or spends a token owed to held jobs.
local taken = {}
if take_queue_key ~= '' then
  taken = take(
    take_sync_ready_key, take_ready_key, take_sync_queue_key, take_queue_key, running_key
  )
end
-- Nothing taken, yet a token is owed for jobs this job's project held
-- (lanes/pick.lua): 'owed' asks the caller to push one, so one runs now.
if #taken == 0 and return_owed == '1' and recorded == 1 and project_limit(job_id)
    and spend_owed() then
  return {recorded, 'owed'}
end
table.insert(taken, 1, recorded)
return taken
