-- Drops expired entries from the fleet-wide indexes and from each given
-- hook's. Returns how many.
local n = trim_indexes('', limit)
for i = TAIL, #ARGV do n = n + trim_indexes(ARGV[i], limit) end
return n
