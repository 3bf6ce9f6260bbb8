-- pick(): the next queued job: (id, the list it is in, its hook, the
-- rotation it came from), or false. pop(): removes it, and moves its hook to
-- the back of the rotation if the hook has more. They need take_sync_prefix
-- and take_pending_prefix (and take_project_prefix, take_project_running_prefix).
--
-- A project's maxConcurrent (issue 23): a job is counted in its project's
-- zset of running jobs (by hard deadline) as it is popped. An async job of
-- a project with that many running is left queued: its hook loses its turn
-- (to the back of the rotation) and the next hook's job is taken; a later
-- take or the reaper's token top-up takes it once one has ended. Ended jobs
-- leave the zset lazily: only when it looks full are its members' statuses
-- read (at most maxConcurrent of them), and a crashed run's entry lapses at
-- its deadline. Sync jobs are counted but never held (their caller waits).
local project_limits = {}
-- take_after_s: how long after take_now a taken job's run starts (the runs of
-- the jobs a child took before it in the same call: lanes/take_many.lua), so
-- its deadlines are that much later; take_span_s: the last taken job's
-- timeout plus margin (lanes/take_next.lua).
local take_after_s, take_span_s = 0, 0
local held_jobs = 0  -- queued jobs this step left for their project's limit

-- A Celery-delivered token that claims nothing because the only queued jobs
-- are held is owed back (take_held_key): a child ending a job later takes the
-- held job with it instead of a token (take_next.lua), so the held job does
-- not wait for the reaper's token top-up.
local function owe_token()
  -- Never more owed than jobs held (the reaper's top-up adds tokens too).
  if take_held_key == '' or held_jobs == 0 then return end
  if tonumber(redis.call('GET', take_held_key) or '0') < held_jobs then
    redis.call('INCR', take_held_key)
    redis.call('EXPIRE', take_held_key, 3600)
  end
end

local function spend_owed()
  if take_held_key == '' then return false end
  local owed = tonumber(redis.call('GET', take_held_key) or '0')
  if owed <= 0 then return false end
  redis.call('DECR', take_held_key)
  return true
end

local job_projects = {}  -- job id -> its project (or false): pick and pop both ask
local function project_limit(id)
  if take_project_prefix == '' then return false end
  local project = job_projects[id]
  if project == nil then
    project = redis.call('HGET', take_job_prefix .. id, 'project')
    job_projects[id] = project
  end
  if not project then return false end
  local known = project_limits[project]
  if known == nil then
    known = false
    local def = redis.call('HGET', take_project_prefix .. project, 'def')
    if def then
      local quotas = cjson.decode(def).quotas
      local limit = type(quotas) == 'table' and quotas.maxConcurrent
      if type(limit) == 'number' then known = {take_project_running_prefix .. project, limit} end
    end
    project_limits[project] = known
  end
  return known
end

local function project_full(id)
  local limit = project_limit(id)
  if not limit then return false end
  local key, max = limit[1], limit[2]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', tonumber(take_now))
  if redis.call('ZCARD', key) < max then return false end
  for _, running in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    if redis.call('HGET', take_job_prefix .. running, 'status') ~= RUNNING then
      redis.call('ZREM', key, running)
    end
  end
  return redis.call('ZCARD', key) >= max
end

local function project_runs(id)
  local limit = project_limit(id)
  if not limit then return end
  local timeout_ms = tonumber(redis.call('HGET', take_job_prefix .. id, 'timeoutMs') or '60000')
  local deadline = tonumber(take_now) + take_after_s + (timeout_ms + tonumber(take_margin_ms)) / 1000
  redis.call('ZADD', limit[1], deadline, id)
  -- Gone on its own once every run in it is past its deadline.
  local want = math.ceil(deadline - tonumber(take_now)) + 1
  if redis.call('TTL', limit[1]) < want then redis.call('EXPIRE', limit[1], want) end
end

local function pick_from(ready_key, prefix)
  local skipped = 0
  while true do
    local hook = redis.call('LINDEX', ready_key, 0)
    if not hook then return false end
    local from = prefix .. hook
    local id = redis.call('LINDEX', from, 0)
    if not id then
      redis.call('LPOP', ready_key)  -- a hook with nothing queued has no turn
    elseif prefix == take_pending_prefix and project_full(id) then
      redis.call('LMOVE', ready_key, ready_key, 'LEFT', 'RIGHT')
      held_jobs = held_jobs + redis.call('LLEN', from)
      skipped = skipped + 1
      if skipped >= redis.call('LLEN', ready_key) then return false end
    else
      return id, from, hook, ready_key
    end
  end
end

local function pick(sync_ready_key, ready_key)
  local id, from, hook, rotation = pick_from(sync_ready_key, take_sync_prefix)
  if id then return id, from, hook, rotation end
  return pick_from(ready_key, take_pending_prefix)
end

local function pop(from, hook, rotation)
  local id = redis.call('LPOP', from)
  if id then project_runs(id) end
  redis.call('LPOP', rotation)
  if redis.call('LLEN', from) > 0 then redis.call('RPUSH', rotation, hook) end
end
