local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function global_indexes()
  return {jobs_index_key, failed_index_key, dead_index_key, delivery_failed_index_key}
end

local function hook_indexes(hook)
  return {hook_index_prefix .. hook, hook_failed_prefix .. hook, hook_dead_prefix .. hook}
end

-- Drops from `indexes` (and from `expiry`) up to `limit` jobs whose expiry
-- has come. Returns how many.
local function trim_expired(expiry, indexes, now_s, limit)
  local ids = redis.call('ZRANGEBYSCORE', expiry, '-inf', now_s, 'LIMIT', 0, tonumber(limit))
  if #ids == 0 then return 0 end
  for _, index in ipairs(indexes) do redis.call('ZREM', index, unpack(ids)) end
  redis.call('ZREM', expiry, unpack(ids))
  return #ids
end

local function trim_indexes(hook, limit)
  local now = now_ms() / 1000
  local n = trim_expired(index_expiry_key, global_indexes(), now, limit)
  if hook ~= '' then
    n = n + trim_expired(hook_jobs_prefix .. hook, hook_indexes(hook), now, limit)
  end
  return n
end

-- A job is its hook's while it is in the hook's set of jobs: deleting the
-- hook takes every job out, and a job of a deleted hook is indexed no more.
local function owned(hook, id)
  return hook ~= '' and redis.call('ZSCORE', hook_jobs_prefix .. hook, id) ~= false
end

-- A new job joins its hook's set of jobs; an event (searchable) also the
-- search indexes, by creation time. Nothing of it expires yet.
local function index_new(hook, id, created, searchable)
  if hook == '' then return end
  redis.call('ZADD', hook_jobs_prefix .. hook, '+inf', id)
  if searchable then
    redis.call('ZADD', index_expiry_key, '+inf', id)
    redis.call('ZADD', jobs_index_key, created, id)
    redis.call('ZADD', hook_index_prefix .. hook, created, id)
  end
end

-- The job's key, and its index entries with it, go at `at_ms` (epoch ms).
-- With `extend`, never earlier than already set (a key without expiry keeps
-- none). Entries are only moved (XX), never added: a job of a deleted hook
-- stays out. ``hook``: the job's hookId if the caller has read it already.
local function expire_at(job_key, id, at_ms, extend, hook)
  if extend then
    local ttl = redis.call('PTTL', job_key)
    if ttl == -1 or (ttl >= 0 and now_ms() + ttl >= at_ms) then return end
  end
  redis.call('PEXPIREAT', job_key, at_ms)
  local at = string.format('%.3f', at_ms / 1000)
  redis.call('ZADD', index_expiry_key, 'XX', at, id)
  if hook == nil then hook = redis.call('HGET', job_key, 'hookId') or '' end
  if hook ~= '' then redis.call('ZADD', hook_jobs_prefix .. hook, 'XX', at, id) end
end

-- How long the job is kept once it has ended: its hook's retentionS if set.
local function retention_ms(job_key, default_s)
  return 1000 * tonumber(redis.call('HGET', job_key, 'retentionS') or default_s)
end

-- A replayed job leaves the dead letters and says which job replays it.
local function mark_replayed(original_key, by)
  if redis.call('EXISTS', original_key) == 0 then return end
  redis.call('HSET', original_key, 'replayedBy', by)
  local original = redis.call('HGET', original_key, 'id')
  local hook = redis.call('HGET', original_key, 'hookId') or ''
  redis.call('ZREM', dead_index_key, original)
  redis.call('ZREM', hook_dead_prefix .. hook, original)
end

-- A failed event (not a test run) of a hook that still owns it joins the
-- failed jobs and the dead letters, the fleet's and its hook's.
local function index_failed(job_key, id)
  if redis.call('HEXISTS', job_key, 'inline') == 1 then return end
  local hook = redis.call('HGET', job_key, 'hookId') or ''
  if not owned(hook, id) then return end
  local created = redis.call('HGET', job_key, 'createdAt') or '0'
  for _, index in ipairs({failed_index_key, dead_index_key,
                          hook_failed_prefix .. hook, hook_dead_prefix .. hook}) do
    redis.call('ZADD', index, created, id)
  end
end

-- Takes a job out of every index and expiry set (its key is being deleted).
local function unindex(id, hook)
  for _, index in ipairs(global_indexes()) do redis.call('ZREM', index, id) end
  redis.call('ZREM', index_expiry_key, id)
  if hook and hook ~= '' then
    for _, index in ipairs(hook_indexes(hook)) do redis.call('ZREM', index, id) end
    redis.call('ZREM', hook_jobs_prefix .. hook, id)
  end
end
