"""What deleting a hook deletes besides its definition: every job of the
hook and every index entry of them, its stored script versions, its
idempotency keys, its KV and its ordering keys.

Nothing of a deleted hook may reach a hook later created with the same id
(issues 13 and 20): versions never repeat (``keys.hook_versions``), so warm
isolates and cached specs never match, and a replay of an old job answers
``hook_version_gone``; queued jobs fail as ``hook_gone``; and this removes
the data the new hook could otherwise see or collide with. The job ids come
from the hook's set of jobs (``keys.hook_jobs``), read and deleted in the
same transaction as the definition (``HookStore.delete``), so they are the
old hook's alone, whatever is created under its id meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from workers.store import keys
from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.lua import LuaStep, lua_source
from workers.store.ordering.store import OrderingStore

__all__ = ["purge_hook", "hook_index_keys"]

_SCAN_COUNT = 1000
_JOBS_PER_CALL = 500


@dataclass(frozen=True)
class PurgeKeys(IndexKeys):
    due_key: str  # keys.callbacks_due()
    finished_key: str  # keys.finished()


@dataclass(frozen=True)
class PurgeArgs(HookIndexArgs):
    job_prefix: str  # keys.job('')
    done_prefix: str  # keys.job_done('')
    hook_id: str
    # TAIL: job ids


DELETE_JOBS = lua_source("hook_purge.lua", include=("jobs/index.lua",))


def hook_index_keys(hook_id: str) -> tuple[str, ...]:
    """The hook's own indexes, its set of jobs, its draft and its shadow
    results: deleted with its definition, in one transaction."""
    return (
        keys.hook_draft(hook_id),
        keys.shadow_results(hook_id),
        keys.shadow_recent(hook_id),
        keys.hook_jobs(hook_id),
        keys.hook_jobs_index(hook_id),
        keys.hook_failed_index(hook_id),
        keys.hook_dead_letters_index(hook_id),
    )


def purge_hook(client: redis.Redis, hook_id: str, last_version: int, job_ids: list[str]) -> int:
    """Delete what a deleted hook owned. ``last_version``: its last version
    (a hook created again meanwhile has higher ones, whose scripts stay);
    ``job_ids``: every job of the hook (its set of jobs and its history).
    Returns how many jobs were deleted."""
    step = LuaStep(client, DELETE_JOBS, PurgeKeys, PurgeArgs)
    purge_keys = PurgeKeys(
        **vars(IndexKeys.build()), due_key=keys.callbacks_due(), finished_key=keys.finished()
    )
    args = PurgeArgs(
        **vars(HookIndexArgs.build()),
        job_prefix=keys.job(""),
        done_prefix=keys.job_done(""),
        hook_id=hook_id,
    )
    deleted = 0
    for start in range(0, len(job_ids), _JOBS_PER_CALL):
        deleted += int(step(purge_keys, args, job_ids[start : start + _JOBS_PER_CALL]))
    for versions in (keys.scripts_of(hook_id), keys.hook_revisions_of(hook_id)):
        _delete_matching(client, versions, lambda key: _version(key) <= last_version)
    for pattern in (keys.idempotency_of(hook_id), *keys.kv_of(hook_id)):
        _delete_matching(client, pattern)
    OrderingStore(client).release_hook(hook_id)  # no event left waiting for its key
    return deleted


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
