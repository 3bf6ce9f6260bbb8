-- A worker child takes up to take_count queued jobs in one step
-- (lanes/take_many.lua). Returns their take() replies.
return take_many(take_count, sync_ready_key, ready_key, sync_queue_key, queue_key, running_key)
