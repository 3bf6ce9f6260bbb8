"""The state of callback deliveries: each job's attempts and status, and the
set of deliveries due for a retry. Delivery itself is ``delivery/callbacks.py``."""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis

from workers.store import keys
from workers.store.job_records import DeliveryStatus

__all__ = ["DeliveryStore"]


class DeliveryStore:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def queue(self, job_id: str, message: tuple[str, bytes]) -> None:
        """Mark the job's delivery pending and queue its callback task
        (list key, message) in one transaction."""
        queue, payload = message
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.job(job_id), "deliveryStatus", DeliveryStatus.PENDING.value)
            pipe.zrem(keys.delivery_failed_index(), job_id)
            pipe.lpush(queue, payload)
            pipe.execute()

    def record(
        self, job_id: str, attempt: dict[str, Any], status: DeliveryStatus, next_at: float | None
    ) -> None:
        """Append a callback attempt, with the delivery's status after it and,
        while pending, when the next attempt is due."""
        key = keys.job(job_id)
        raw, created = self._redis.hmget(key, ["deliveries", "createdAt"])
        attempts = orjson.loads(raw) if raw else []
        attempts.append(attempt)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"deliveries": orjson.dumps(attempts), "deliveryStatus": status})
            # Failed deliveries are searchable (the console's redeliver).
            if status == DeliveryStatus.FAILED:
                pipe.zadd(keys.delivery_failed_index(), {job_id: float(created or time.time())})
            else:
                pipe.zrem(keys.delivery_failed_index(), job_id)
            if next_at is None:
                pipe.hdel(key, "deliveryNextAt")
                pipe.zrem(keys.callbacks_due(), job_id)
            else:
                pipe.hset(key, "deliveryNextAt", next_at)
                pipe.zadd(keys.callbacks_due(), {job_id: next_at})
            pipe.execute()

    def claim_due(self, now: float, limit: int = 100) -> list[str]:
        """Job ids whose retry time has come, each claimed by this caller
        alone (ZREM decides between nodes)."""
        due = self._redis.zrangebyscore(keys.callbacks_due(), "-inf", now, start=0, num=limit)
        return [raw.decode() for raw in due if self._redis.zrem(keys.callbacks_due(), raw)]
