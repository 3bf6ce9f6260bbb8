"""What makes the job store's writes safe beyond atomicity: a create that
WAITs for replicas before it counts (durable acknowledgements), a finish
that frees room when Redis refuses it at ``maxmemory``, and the job id in
what is read, whatever the hash holds."""

from __future__ import annotations

from typing import Any

import redis

from workers.errors import NotReplicated
from workers.store.budget import MemoryBudget, is_oom
from workers.store.jobs.steps import Created
from workers.store.lua import LuaStep

__all__ = ["replicated", "with_room"]
_ROOM_ATTEMPTS = 3


def replicated(client: redis.Redis, replicas: tuple[int, int], step: LuaStep, *args: Any) -> Any:
    """Run the create ``step``, then ``WAIT`` on the same connection (a
    pipeline) until ``replicas`` = (count, timeout ms) have it. Raises
    ``NotReplicated`` when fewer confirm a written job in time."""
    wanted, timeout_ms = replicas
    if not wanted:
        return step(*args)
    with client.pipeline(transaction=False) as pipe:
        step(*args, client=pipe)
        pipe.wait(wanted, timeout_ms)
        reply, acked = pipe.execute()
    if reply[0] == Created.OK and acked < wanted:  # only a written job is waited for
        raise NotReplicated(
            f"{acked} of {wanted} replica(s) confirmed the event within {timeout_ms} ms; "
            "it was not accepted"
        )
    return reply


def with_room(budget: MemoryBudget | None, step: LuaStep, *args: Any, capped: bool = True) -> Any:
    """Run ``step``; if Redis refuses it at maxmemory, trim finished jobs and
    try again: a worker must be able to record what it ran. When trimming
    frees nothing (Redis holds only queued and running jobs: a flood filled
    it past the high-water mark), or it still refuses, the step runs past
    maxmemory (``MemoryBudget.past_the_limit``): refused, no job would ever
    end, nothing would become trimmable, and every worker would stall."""
    if budget is None:
        return step(*args)
    for _ in range(_ROOM_ATTEMPTS):
        try:
            return step(*args)
        except redis.ResponseError as exc:
            if not is_oom(exc):
                raise
            if not budget.trim():
                break
    return budget.past_the_limit(step, *args, capped=capped)
