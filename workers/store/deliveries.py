"""The state of callback deliveries: each job's attempts and status, and the
set of deliveries due for a retry. Delivery itself is ``delivery/callbacks.py``.

Each write is one Lua step that first checks the job still exists: a
delivery never recreates the key of a job that expired or was deleted (it
would be a hash of delivery fields alone, with no expiry). A job whose
callback is still due is kept until then: each attempt that leaves the
delivery pending moves the job's expiry (and its index entries') to its
retention past the next attempt; the delivery's end starts its retention
again, and puts it back in the memory budget's reach.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from workers.store import keys
from workers.store.job_index import INDEX_LUA, HookIndexArgs, IndexKeys
from workers.store.job_records import DeliveryStatus
from workers.store.lua import LuaStep

__all__ = ["DeliveryStore"]


@dataclass(frozen=True)
class QueueKeys(IndexKeys):
    job_key: str
    queue_key: str  # the callbacks queue the message is pushed to


@dataclass(frozen=True)
class QueueArgs(HookIndexArgs):
    job_id: str
    message: bytes
    pending: str  # DeliveryStatus.PENDING
    retention_s: int  # unless the job has its hook's own (retentionS)


# Marks the delivery pending and queues its task, unless the job is gone;
# the job is kept at least its retention from now. Returns 1, or 0 (gone).
_QUEUE = (
    INDEX_LUA
    + """
if redis.call('EXISTS', job_key) == 0 then return 0 end
redis.call('HSET', job_key, 'deliveryStatus', pending)
redis.call('ZREM', delivery_failed_index_key, job_id)
redis.call('LPUSH', queue_key, message)
expire_at(job_key, job_id, now_ms() + retention_ms(job_key, retention_s), true)
return 1
"""
)


@dataclass(frozen=True)
class RecordKeys(IndexKeys):
    job_key: str
    due_key: str  # keys.callbacks_due()
    finished_key: str  # keys.finished(): the memory budget's index


@dataclass(frozen=True)
class RecordArgs(HookIndexArgs):
    job_id: str
    attempt: bytes  # JSON object
    status: str  # the delivery's status after the attempt
    failed: str  # DeliveryStatus.FAILED
    next_at: float | str  # epoch s of the next attempt, '' for none
    retention_s: int


# Appends an attempt to the job's list and sets the delivery's status,
# unless the job is gone. Pending: due again at next_at, and kept its
# retention past that. Ended: kept its retention from now; a failed
# delivery of a job its hook still owns is searchable (the console's
# redeliver). Returns 1, or 0 (gone).
_RECORD = (
    INDEX_LUA
    + """
if redis.call('EXISTS', job_key) == 0 then
  redis.call('ZREM', due_key, job_id)
  return 0
end
local attempts = redis.call('HGET', job_key, 'deliveries')
if attempts and string.sub(attempts, -1) == ']' and attempts ~= '[]' then
  attempts = string.sub(attempts, 1, -2) .. ',' .. attempt .. ']'
else
  attempts = '[' .. attempt .. ']'
end
redis.call('HSET', job_key, 'deliveries', attempts, 'deliveryStatus', status)
local hook = redis.call('HGET', job_key, 'hookId') or ''
if status == failed and owned(hook, job_id)
    and redis.call('ZSCORE', index_expiry_key, job_id) then
  local created = redis.call('HGET', job_key, 'createdAt') or '0'
  redis.call('ZADD', delivery_failed_index_key, created, job_id)
else
  redis.call('ZREM', delivery_failed_index_key, job_id)
end
local keep_ms = retention_ms(job_key, retention_s)
local now = now_ms()
if next_at == '' then
  redis.call('HDEL', job_key, 'deliveryNextAt')
  redis.call('ZREM', due_key, job_id)
  expire_at(job_key, job_id, now + keep_ms, false)
  redis.call('ZADD', finished_key, string.format('%.6f', now / 1000), job_id)
else
  redis.call('HSET', job_key, 'deliveryNextAt', next_at)
  redis.call('ZADD', due_key, next_at, job_id)
  local due_ms = math.max(now, math.floor(tonumber(next_at) * 1000))
  expire_at(job_key, job_id, due_ms + keep_ms, true)
end
return 1
"""
)


class DeliveryStore:
    def __init__(self, client: redis.Redis, retention_s: int) -> None:
        self._redis = client
        self._retention_s = retention_s  # a job's, unless its hook has its own
        self._queue = LuaStep(client, _QUEUE, QueueKeys, QueueArgs)
        self._record = LuaStep(client, _RECORD, RecordKeys, RecordArgs)

    def queue(self, job_id: str, message: tuple[str, bytes]) -> bool:
        """Mark the job's delivery pending and queue its callback task
        (list key, message) in one step; False (nothing written) if the job
        is gone."""
        queue, payload = message
        return bool(
            self._queue(
                QueueKeys(**vars(IndexKeys.build()), job_key=keys.job(job_id), queue_key=queue),
                QueueArgs(
                    **vars(HookIndexArgs.build()),
                    job_id=job_id,
                    message=payload,
                    pending=DeliveryStatus.PENDING.value,
                    retention_s=self._retention_s,
                ),
            )
        )

    def record(
        self, job_id: str, attempt: dict[str, Any], status: DeliveryStatus, next_at: float | None
    ) -> bool:
        """Append a callback attempt, with the delivery's status after it and,
        while pending, when the next attempt is due. False (nothing written)
        if the job is gone."""
        return bool(
            self._record(
                RecordKeys(
                    **vars(IndexKeys.build()),
                    job_key=keys.job(job_id),
                    due_key=keys.callbacks_due(),
                    finished_key=keys.finished(),
                ),
                RecordArgs(
                    **vars(HookIndexArgs.build()),
                    job_id=job_id,
                    attempt=orjson.dumps(attempt),
                    status=status.value,
                    failed=DeliveryStatus.FAILED.value,
                    next_at="" if next_at is None else repr(float(next_at)),
                    retention_s=self._retention_s,
                ),
            )
        )

    def claim_due(self, now: float | None = None, limit: int = 100) -> list[str]:
        """Job ids whose retry time has come, each claimed by this caller
        alone (ZREM decides between nodes)."""
        now = time.time() if now is None else now
        due = self._redis.zrangebyscore(keys.callbacks_due(), "-inf", now, start=0, num=limit)
        return [raw.decode() for raw in due if self._redis.zrem(keys.callbacks_due(), raw)]
