-- A shadow run's outcome, counted only if the draft it ran is still the
-- hook's draft (one saved meanwhile starts its own counts).
local draft = redis.call('GET', draft_key)
if not draft or redis.sha1hex(draft) ~= etag then
  return 0
end
shadow_count(etag, outcome, entry)
return 1
