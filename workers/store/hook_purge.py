"""What deleting a hook deletes besides its definition: the finished jobs of
its history, its stored script versions, its idempotency keys and its KV.

Nothing of a deleted hook may reach a hook later created with the same id
(issue 13): versions never repeat (``keys.hook_versions``), so warm isolates
and cached specs never match; queued jobs fail as ``hook_gone``; and this
removes the data the new hook could otherwise see or collide with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from workers.store import keys
from workers.store.lua import LuaStep

__all__ = ["purge_hook"]

_SCAN_COUNT = 1000


@dataclass(frozen=True)
class PurgeKeys:
    """None: the job keys are built from ``PurgeArgs.job_prefix`` (ids vary)."""


@dataclass(frozen=True)
class PurgeArgs:
    job_prefix: str  # keys.job('')
    done_prefix: str  # keys.job_done('')
    # TAIL: job ids


# Deletes the jobs (and their done tokens) that have ended; a job still queued
# or running is left (see purge_hook).
# Returns how many were deleted.
DELETE_FINISHED = """
local deleted = 0
for i = TAIL, #ARGV do
  local key = job_prefix .. ARGV[i]
  local status = redis.call('HGET', key, 'status')
  if status == SUCCEEDED or status == FAILED then
    redis.call('DEL', key, done_prefix .. ARGV[i])
    deleted = deleted + 1
  end
end
return deleted
"""


def purge_hook(client: redis.Redis, hook_id: str, last_version: int, job_ids: list[str]) -> None:
    """Delete what a deleted hook owned. ``last_version``: its last version
    (a hook created again meanwhile has higher ones, whose scripts stay);
    ``job_ids``: its history. Jobs still queued are left to fail as
    ``hook_gone`` when a worker begins them, running ones to end as they run
    (their senders may still poll them); both expire with the retention."""
    if job_ids:
        step = LuaStep(client, DELETE_FINISHED, PurgeKeys, PurgeArgs)
        step(PurgeKeys(), PurgeArgs(keys.job(""), keys.job_done("")), job_ids)
    _delete_matching(client, keys.scripts_of(hook_id), lambda key: _version(key) <= last_version)
    for pattern in (keys.idempotency_of(hook_id), *keys.kv_of(hook_id)):
        _delete_matching(client, pattern)


def _version(key: bytes) -> int:
    tail = key.rsplit(b":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _delete_matching(
    client: redis.Redis, pattern: str, select: Callable[[bytes], bool] | None = None
) -> None:
    """SCAN (never KEYS: it would block Redis) and delete in batches the keys
    matching ``pattern`` (and ``select``, if given)."""
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=_SCAN_COUNT):
        if select is None or select(key):
            batch.append(key)
        if len(batch) >= _SCAN_COUNT:
            client.unlink(*batch)
            batch.clear()
    if batch:
        client.unlink(*batch)
