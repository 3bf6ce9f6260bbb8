"""Batches: a worker child takes up to ``HOOKLET_TAKE_BATCH`` queued jobs in
one step, and records the outcomes it held back together with its next take,
in one script call (``queue.held.HeldJobs`` decides what waits).

FINISH records the outcomes in the order the runs ended, each as a FINISH of
its own would (a script is atomic as a whole, so each outcome is too), then
takes; each taken job is begun (``running``, with its deadline, in the
running set under this child) in the same step that takes it, so a child that
dies holding jobs leaves every one of them where ``queue.child_watch`` and
the reaper find it. One EVALSHA costs Redis ~25–35 µs of CPU before its
script does anything (system calls, the event loop, its arguments): a batch
of 4 outcomes and a take is one call, not 5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from workers.store.budget import MemoryBudget
from workers.store.jobs.finish_step import Part, finish_lua_step, finish_shared
from workers.store.jobs.writes import with_room
from workers.store.lanes import scripts as lua
from workers.store.lanes.lane import (
    TakeFrom,
    Taken,
    take_args,
    take_keys,
    take_prefixes,
    taken_many,
)
from workers.store.lua import LuaStep

__all__ = ["Batched", "Recording"]


@dataclass(frozen=True)
class Recording:
    """One outcome to record: what makes its part of FINISH (``finish_step``
    but its ``owed`` and ``alone``), and what makes the token FINISH pushes
    if one is owed to the held jobs of its project (``lanes/pick.lua``)."""

    step: Callable[..., Part]
    owed_token: Callable[[], tuple[str, bytes]] | None = None


class Batched:
    def __init__(self, client: redis.Redis, budget: MemoryBudget | None = None) -> None:
        self._client = client
        self._budget = budget
        self._finish = finish_lua_step(client)
        self._take = LuaStep(
            client, lua.TAKE_MANY, lua.TakeKeys, lua.TakeManyArgs, constants=take_prefixes()
        )

    def take(self, take: TakeFrom, count: int) -> list[Taken]:
        """Take and begin up to ``count`` queued jobs in one step, in the order
        to run them (the sync lane first, then the hooks in turn)."""
        return self.record([], take, count)[1]

    def record(
        self, recordings: list[Recording], take: TakeFrom | None, count: int
    ) -> tuple[list[bool], list[Taken]]:
        """Record each outcome (in order, each as its own FINISH would), then
        take up to ``count`` jobs, in one script call. Returns whether each
        outcome was recorded (False: the job had already ended) and the jobs
        taken."""
        taking = take is not None and count > 0
        if not recordings:
            if not taking or take is None:
                return [], []
            args = lua.TakeManyArgs(**vars(take_args(take)), take_count=count)
            return [], taken_many(self._run(self._take, take_keys(take), args))
        # FINISH asks whether a token is owed only when its take took nothing
        # (a take spends owed tokens itself), once per call when none is owed;
        # an owed token is pushed by FINISH itself, atomic with its outcome.
        parts = [
            r.step(owed=r.owed_token() if r.owed_token is not None else None, alone=False)
            for r in recordings
        ]
        last = parts[-1]
        keys, args = finish_shared(
            last.retention_s, last.child_rss, take if taking else None, count, len(parts)
        )
        tail = [value for part in parts for value in part.tail]
        flags, took = self._run(self._finish, keys, args, tail)
        return [flag > 0 for flag in flags], taken_many(took)

    def _run(self, step: LuaStep, *args: Any) -> Any:
        """One script call; if Redis lost the script (a restart, a failover)
        it is loaded again, if it refused it at maxmemory room is made."""
        return with_room(self._budget, step, *args)
