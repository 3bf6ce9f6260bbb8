"""Reading jobs: the job store's side that changes no state (``JobStore``
inherits it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from workers.store import keys
from workers.store.jobs import waits as job_waits

__all__ = ["JobReads"]


class JobReads:
    _redis: redis.Redis
    _blocking: redis.Redis

    def get(self, job_id: str) -> dict[bytes, bytes] | None:
        """The job's fields, or None. A hash without a status is no job (a
        stray write into a key that had expired, before issue 20's fix)."""
        raw = self._redis.hgetall(keys.job(job_id))
        return raw if raw and b"status" in raw else None

    def delete(self, job_id: str) -> None:
        self._redis.delete(keys.job(job_id))

    def get_many(self, job_ids: list[str]) -> list[dict[bytes, bytes]]:
        with self._redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(keys.job(job_id))
            return [raw for raw in pipe.execute() if raw]

    def leave_history(self, hook_id: str, job_id: str) -> None:
        """Take a job out of its hook's history (the script said skipRequest)."""
        self._redis.lrem(keys.history(hook_id), 1, job_id)

    def history_ids(self, hook_id: str) -> list[str]:
        return [i.decode() for i in self._redis.lrange(keys.history(hook_id), 0, -1)]

    def is_final(self, job_id: str) -> bool:
        return job_waits.is_final(self._redis, job_id)

    def wait(
        self,
        job_id: str,
        timeout_s: float,
        also: Callable[[Any], None] | None = None,
        waiter: Callable[[str, float], bool] | None = None,
    ) -> dict[bytes, bytes] | None:
        """``job_waits.wait``: until the job ends or the timeout passes, then
        its fields (None if there is no such job)."""
        raw = job_waits.wait(self._redis, self._blocking, job_id, timeout_s, also, waiter)
        return raw or None

    def overdue(self, now: float, limit: int = 100) -> list[str]:
        ids = self._redis.zrangebyscore(keys.running(), "-inf", now, start=0, num=limit)
        return [i.decode() for i in ids]
