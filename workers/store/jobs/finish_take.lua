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
-- (lanes/pick.lua): the outcome's token is pushed, so one runs now. In this
-- step, not by the caller after it: the owed count spent here and the token
-- are written together or not at all (a caller's push could be refused).
if #taken == 0 then
  for n = 1, tonumber(outcomes_n) do
    local owed = owing[n]
    if owed and project_limit(owed[1]) and spend_owed() then
      redis.call('LPUSH', owed[2], owed[3])
      recorded[n] = 2
    end
  end
end
return {recorded, taken}
