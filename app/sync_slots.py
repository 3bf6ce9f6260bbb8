"""A sync request's wait for its job's answer, and the giving back of the
sync slot (one of the hook's ``maxConcurrent``) its CREATE took."""

from __future__ import annotations

from typing import Any

import redis

from app.sync_waiter import SyncWaiter
from workers.store import keys
from workers.store.jobs.store import JobStore

__all__ = ["SyncSlots"]


class SyncSlots:
    """Waits through the process's one ``SyncWaiter``; gives slots back."""

    def __init__(self, client: redis.Redis, jobs: JobStore, waiter: SyncWaiter) -> None:
        self.redis = client
        self.jobs = jobs
        self.waiter = waiter

    def wait_for(
        self, job_id: str, timeout_s: float, *, release_slot_of: str | None = None
    ) -> dict[bytes, bytes] | None:
        """Wait through the process's sync waiter (no connection held while
        waiting). When the job's end was published with its answer, that
        answer is returned without a read (FINISH gave the sync slot back:
        ``jobs/answer.py``); else the job is read, giving back its sync slot
        in hook ``release_slot_of`` in the same round trip."""
        released = False

        def release(pipe: Any) -> None:
            nonlocal released
            pipe.zrem(keys.in_flight(release_slot_of), job_id)
            released = True

        try:
            _, fields = self.waiter.wait_answer(
                job_id, timeout_s, lambda: self.jobs.is_final(job_id)
            )
            if fields is not None:
                released = True
                return fields
            # Ended (read its status), or the wait timed out: read it once.
            return self.jobs.wait(job_id, 0, release if release_slot_of else None)
        finally:
            if release_slot_of is not None and not released:
                self.release(release_slot_of, job_id)

    def release(self, hook_id: str, job_id: str) -> None:
        """Give back the sync slot ``submit(take_slot=True)`` took for a job.
        Best effort: an answer already made is not turned into an error, and a
        slot never given back lapses on its own (``settings.sync_slot_grace_s``
        after the request's wait)."""
        try:
            self.redis.zrem(keys.in_flight(hook_id), job_id)
        except (redis.RedisError, OSError):
            pass
