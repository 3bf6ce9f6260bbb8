-- order_base(): one ordering key's hash (keys.ordering); its waiting jobs
-- are the list base .. ':jobs' (keys.ordering_jobs), its waiting callbacks
-- base .. ':callbacks' (keys.ordering_callbacks). Needs order_prefix.
local function order_base(hook, id)
  return order_prefix .. hook .. ':' .. id
end
