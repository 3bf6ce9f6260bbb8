-- take_many(): up to `count` jobs, taken one after another as take() takes
-- one (the sync lane first, then the hooks in turn, a token spent for each),
-- for a child that runs them in that order: each job's deadlines count from
-- the end of the runs before it (their timeouts and margins), and a job whose
-- hard deadline would then fall after take_latest ends the take.
-- Returns a list of take() replies ({job id, begin()'s reply...}), maybe empty.
local function take_many(count, sync_ready_key, ready_key, sync_queue, queue, running)
  local taken = {}
  for _ = 1, tonumber(count) do
    local reply = take(sync_ready_key, ready_key, sync_queue, queue, running)
    if #reply == 0 then break end
    table.insert(taken, reply)
    take_after_s = take_after_s + take_span_s
  end
  return taken
end
