-- FINISH's second part (jobs/finish.lua recorded the outcomes: `recorded`,
-- `owing`): takes up to take_count jobs (lanes/take_many.lua), or spends
-- tokens owed to held jobs.
local taken = {}
if take_queue_key ~= '' then
  taken = take_many(
    take_count, take_sync_ready_key, take_ready_key, take_sync_queue_key, take_queue_key,
    running_key
  )
end
-- Nothing taken, yet a token is owed for jobs an outcome's project held
-- (lanes/pick.lua): 2 asks the caller to push one, so one runs now.
if #taken == 0 then
  for n = 1, tonumber(outcomes_n) do
    if owing[n] and project_limit(owing[n]) and spend_owed() then recorded[n] = 2 end
  end
end
return {recorded, taken}
