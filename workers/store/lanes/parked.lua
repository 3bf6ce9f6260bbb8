-- hand_parked_to_celery(): the tokens parked for lingering children
-- (keys.parked_sync_tokens) go to Celery's sync queue, once no child lingers:
-- every job keeps a token someone delivers.
local function hand_parked_to_celery(parked_key, sync_queue_key)
  while redis.call('LMOVE', parked_key, sync_queue_key, 'RIGHT', 'LEFT') do end
end
