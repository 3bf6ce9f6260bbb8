-- Marks the delivery pending and queues its task, unless the job is gone;
-- the job is kept at least its retention from now. Returns 1, or 0 (gone).
if redis.call('EXISTS', job_key) == 0 then return 0 end
-- An ordered hook's callback still waiting for its key's earlier one
-- (ordering/callbacks.lua) is queued already, in line: a copy sent now would
-- jump the line, and the copy in line, sent after, would find its delivery
-- ended and never pass the key's turn on (its later callbacks stuck).
if redis.call('HEXISTS', job_key, 'orderCallback') == 1 then return 1 end
redis.call('HSET', job_key, 'deliveryStatus', pending)
redis.call('ZREM', delivery_failed_index_key, job_id)
redis.call('LPUSH', queue_key, message)
expire_at(job_key, job_id, now_ms() + retention_ms(job_key, retention_s), true)
return 1
