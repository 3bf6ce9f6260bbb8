"""The search indexes' writing side, and how long each entry lives.

An index entry lives exactly as long as its job (issue 20): not by the
retention of whichever hook happens to write next. Two sorted sets say when
each job expires: ``keys.index_expiry()`` for the fleet-wide indexes and
``keys.hook_jobs(hook)`` for the hook's own (which is also the list of every
job of the hook that deleting it deletes). A job's score there is ``+inf``
while it is queued or running (it never expires then) and while a callback
is due; it becomes the job's expiry time when the job's key gets one, in the
same Lua call (``expire_at``). ``trim_expired`` then drops whatever has
expired, from every index at once, in bounded batches: in each worker
node's reaper for every stored hook (``IndexTrim``), off the events' path
(CREATE trimmed too until issue 21 moved that out of the critical section),
so even an idle hook's indexes shrink.

The Lua functions (``index.lua``) run inside the job store's steps (CREATE, FINISH), the
deliveries' steps and the memory budget's TRIM; each of those steps' records
inherits ``IndexKeys`` and ``HookIndexArgs``, whose field names the Lua uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis

from workers.store import keys
from workers.store.lua import LuaStep, lua_source

__all__ = ["IndexKeys", "HookIndexArgs", "IndexTrim", "TRIM_BATCH"]

TRIM_BATCH = 200  # expired entries one call drops from each expiry set
_MAX_PASSES = 25  # calls per hook chunk one trim makes while batches come back full
_HOOKS_PER_CALL = 50  # hooks whose indexes one reaper call trims


@dataclass(frozen=True)
class IndexKeys:
    """The fleet-wide indexes and their expiry set (KEYS of every step that
    indexes, expires or drops a job)."""

    jobs_index_key: str
    failed_index_key: str
    dead_index_key: str
    delivery_failed_index_key: str
    index_expiry_key: str

    @classmethod
    def build(cls) -> IndexKeys:
        return cls(
            jobs_index_key=keys.jobs_index(),
            failed_index_key=keys.failed_jobs_index(),
            dead_index_key=keys.dead_letters_index(),
            delivery_failed_index_key=keys.delivery_failed_index(),
            index_expiry_key=keys.index_expiry(),
        )


@dataclass(frozen=True)
class HookIndexArgs:
    """Prefixes of a hook's own indexes and of its set of jobs (ARGV: the
    hook is read from the job)."""

    hook_index_prefix: str
    hook_failed_prefix: str
    hook_dead_prefix: str
    hook_jobs_prefix: str

    @classmethod
    def build(cls) -> HookIndexArgs:
        return cls(
            hook_index_prefix=keys.hook_jobs_index(""),
            hook_failed_prefix=keys.hook_failed_index(""),
            hook_dead_prefix=keys.hook_dead_letters_index(""),
            hook_jobs_prefix=keys.hook_jobs(""),
        )


@dataclass(frozen=True)
class TrimIndexArgs(HookIndexArgs):
    limit: int
    # TAIL: hook ids


_TRIM_INDEXES = lua_source("jobs/trim_indexes.lua", include=("jobs/index.lua",))


class IndexTrim:
    """The reaper's periodic step: drop the entries of jobs that expired, in
    every index (the fleet's and each stored hook's)."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._step = LuaStep(client, _TRIM_INDEXES, IndexKeys, TrimIndexArgs)

    def trim(self, hook_ids: Iterable[str] | None = None) -> int:
        """Bounded batches per index, again while a batch comes back full (the
        only trimming since CREATE stopped trimming on the event's path);
        returns how many entries went."""
        if hook_ids is None:
            hook_ids = sorted(i.decode() for i in self._redis.smembers(keys.hook_ids()))
        hook_ids = list(hook_ids)
        args = TrimIndexArgs(**vars(HookIndexArgs.build()), limit=TRIM_BATCH)
        total = 0
        for start in range(0, max(len(hook_ids), 1), _HOOKS_PER_CALL):
            chunk = hook_ids[start : start + _HOOKS_PER_CALL]
            for _ in range(_MAX_PASSES):
                dropped = int(self._step(IndexKeys.build(), args, chunk))
                total += dropped
                if dropped < TRIM_BATCH:  # no expiry set had a full batch left
                    break
        return total
