-- take(): picks the next job; leaves it unless its hard deadline (timeoutMs +
-- margin from now) falls before take_latest (the end of the taking task's own
-- time limit), and, for an async job, unless a token waits in the async queue
-- list (else Celery would later deliver that token for nothing: the work the
-- take spares); then spends a token (a sync job: the sync queue's, else the
-- async queue's, else none), pops the job and begins it in the same step, so a
-- taken job is always in the running zset (and so reaped if the child dies).
-- What is not a free token is put back: another task's message, one with an
-- ETA, and a token bound to a job (requeued because the child running its job
-- died: its delivery runs that job again; spent here, the job would wait for
-- the reaper).
-- Returns {} when nothing was taken, else {job id, begin()'s reply...}.
-- A token's headers are read without decoding the whole message (a ~1 KB
-- JSON document: cjson.decode was most of a take's time), with plain finds
-- (Lua's pattern matcher walked the whole message for "eta": 18% of a take).
-- Its body is base64, so a quoted key can only be one of the message's own:
-- '"id":' is the headers' id (the others are "root_id", "correlation_id"...);
-- kombu's JSON, for a message it restored, puts a space after each colon.
-- header(): the string value of that key, nil if absent or not a string.
local function header(message, name)
  local _, stop = string.find(message, '"' .. name .. '":"', 1, true)
  if not stop then _, stop = string.find(message, '"' .. name .. '": "', 1, true) end
  if not stop then return nil end
  local close = string.find(message, '"', stop + 1, true)
  return close and string.sub(message, stop + 1, close - 1)
end

local function is_free_token(message)
  if header(message, 'task') ~= take_task then return false end
  if header(message, 'eta') then return false end  -- an ETA: not now
  local id = header(message, 'id')
  return id ~= nil and redis.call('EXISTS', take_token_prefix .. id) == 0
end

local function spend_token(queue)
  local message = redis.call('RPOP', queue)
  if not message then return false end
  if is_free_token(message) then return true end
  redis.call('RPUSH', queue, message)
  return false
end

-- (take_after_s, take_span_s: lanes/pick.lua.)
local function take(sync_ready_key, ready_key, sync_queue, queue, running)
  local id, from, hook, rotation = pick(sync_ready_key, ready_key)
  if not id then return {} end
  local key = take_job_prefix .. id
  take_span_s = 0
  local timeout = redis.call('HGET', key, 'timeoutMs')
  if timeout or redis.call('EXISTS', key) == 1 then
    local timeout_ms = tonumber(timeout or '60000')
    take_span_s = (timeout_ms + tonumber(take_margin_ms)) / 1000
    if tonumber(take_now) + take_after_s + take_span_s > tonumber(take_latest) then return {} end
  end
  if rotation == ready_key then
    -- An async job only with a token still in the queue list: one taken
    -- without would leave its token to a Celery delivery that runs nothing.
    -- (Or a token a claim spent on held jobs only: pick.lua.)
    if not spend_token(queue) and not spend_owed() then return {} end
  elseif not (take_parked_key ~= '' and redis.call('RPOP', take_parked_key))
      and not spend_token(sync_queue) then
    -- (A parked token is a sync job's, never delivered: always free.)
    spend_token(queue)  -- a sync job is taken even so: its caller waits
  end
  pop(from, hook, rotation)
  local reply = begin(
    key, running, id, take_worker, take_now, take_margin_ms, take_hook_prefix, take_after_s
  )
  table.insert(reply, 1, id)
  return reply
end
