return take(sync_ready_key, ready_key, sync_queue_key, queue_key, running_key)
