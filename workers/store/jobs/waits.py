"""Waiting for a job's end: a BLPOP on its done list, or the web's
multiplexing sync waiter (app/sync_waiter.py), then one read of its fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from workers.store import keys
from workers.store.jobs.records import JobStatus

__all__ = ["is_final", "wait"]


def is_final(client: redis.Redis, job_id: str) -> bool:
    status = client.hget(keys.job(job_id), "status")
    return status is not None and JobStatus(status.decode()).is_final


def _say_waiting(client: redis.Redis, job_id: str, timeout_s: float) -> bool:
    """Mark the job waited for (FINISH then pushes its done list) and read, in
    the same transaction, whether it has already ended: either the mark came
    first and the done list will be pushed, or the job is final and there is
    nothing to block on."""
    with client.pipeline(transaction=True) as pipe:
        pipe.set(keys.job_waiting(job_id), b"1", ex=int(timeout_s) + 60)
        pipe.hget(keys.job(job_id), "status")
        status = pipe.execute()[1]
    return status is None or JobStatus(status.decode()).is_final


def wait(
    client: redis.Redis,
    blocking: redis.Redis,
    job_id: str,
    timeout_s: float,
    also: Callable[[Any], None] | None = None,
    waiter: Callable[[str, float], bool] | None = None,
) -> dict[bytes, bytes] | None:
    """Block (no polling) until the job ends or the timeout passes, then
    return its fields (None if there is no such job). ``also`` may queue
    more commands on the pipeline that reads them (one round trip).
    ``waiter`` (job id, timeout) waits instead of a BLPOP on a connection of
    its own from ``blocking`` (the web's multiplexing sync waiter)."""
    got = None
    if waiter is not None:
        waiter(job_id, timeout_s)
    elif timeout_s > 0 and not _say_waiting(client, job_id, timeout_s):
        got = blocking.blpop([keys.job_done(job_id)], timeout=timeout_s)
    with client.pipeline(transaction=False) as pipe:
        if got is not None:
            # Put the token back for any other waiter (e.g. a second poller).
            pipe.lpush(keys.job_done(job_id), b"1")
            pipe.expire(keys.job_done(job_id), 60)
        if also is not None:
            also(pipe)
        pipe.hgetall(keys.job(job_id))
        raw = pipe.execute()[-1]
    return raw or None
