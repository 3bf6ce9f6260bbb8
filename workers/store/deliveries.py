"""The state of callback deliveries: each job's attempts and status, and the
set of deliveries due for a retry. Delivery itself is ``delivery/callbacks.py``.

Each write is one Lua step that first checks the job still exists: a
delivery never recreates the key of a job that expired or was deleted (it
would be a hash of delivery fields alone, with no expiry). A job whose
callback is still due is kept until then: each attempt that leaves the
delivery pending moves the job's expiry (and its index entries') to its
retention past the next attempt; the delivery's end starts its retention
again, and puts it back in the memory budget's reach.

Recording a delivery's end is never refused at ``maxmemory`` (``with_room``,
uncapped): it writes a few small fields and is what makes a finished job
trimmable. Refused, a Redis past its limit with callbacks due stayed stuck:
nothing ended, nothing could be trimmed, and no worker's outcome was taken.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from workers.settings import Settings
from workers.store import keys
from workers.store.budget import MemoryBudget
from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.jobs.records import DeliveryStatus
from workers.store.jobs.writes import with_room
from workers.store.lua import LuaStep, lua_source
from workers.store.ordering import scripts as ordering

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


_QUEUE = lua_source("delivery_queue.lua", include=("jobs/index.lua",))


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
    # An ordered hook's next callback of the key goes once this one ended.
    order_prefix: str  # keys.ordering_prefix() (ordering/callbacks.lua)
    order_job_prefix: str  # keys.job('')


_RECORD = lua_source("delivery_record.lua", include=("jobs/index.lua", *ordering.CALLBACKS))


class DeliveryStore:
    def __init__(
        self, client: redis.Redis, retention_s: int, budget: MemoryBudget | None = None
    ) -> None:
        self._redis = client
        self._retention_s = retention_s  # a job's, unless its hook has its own
        # Trims (a batch per step) when Redis refuses a record; no call to Redis until then.
        self._budget = budget or MemoryBudget(client, Settings())
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
        if the job is gone. Refused at maxmemory, it trims finished jobs and
        runs past the limit: an end always (it makes the job trimmable, and
        is trimmed at once if it may go), a retry within the budget's share."""
        return bool(
            with_room(
                self._budget,
                self._record,
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
                    order_prefix=keys.ordering_prefix(),
                    order_job_prefix=keys.job(""),
                ),
                capped=next_at is not None,
            )
        )

    def claim_due(self, now: float | None = None, limit: int = 100) -> list[str]:
        """Job ids whose retry time has come, each claimed by this caller
        alone (ZREM decides between nodes)."""
        now = time.time() if now is None else now
        due = self._redis.zrangebyscore(keys.callbacks_due(), "-inf", now, start=0, num=limit)
        if not due:
            return []
        with self._redis.pipeline(transaction=False) as pipe:
            for raw in due:
                pipe.zrem(keys.callbacks_due(), raw)
            claimed = pipe.execute()
        return [raw.decode() for raw, won in zip(due, claimed, strict=True) if won]

    def next_due(self) -> float | None:
        """When the earliest due callback is due (epoch s), if any."""
        first = self._redis.zrange(keys.callbacks_due(), 0, 0, withscores=True)
        return float(first[0][1]) if first else None
