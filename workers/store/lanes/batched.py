"""Batches: a worker child takes up to ``HOOKLET_TAKE_BATCH`` queued jobs in
one step, and records the outcomes it held back together with its next take,
in one round trip (``queue.held.HeldJobs`` decides what waits).

Each outcome is still its own atomic FINISH, in the order the runs ended, and
each taken job is begun (``running``, with its deadline, in the running set
under this child) in the same step that takes it, so a child that dies
holding jobs leaves every one of them where ``queue.child_watch`` and the
reaper find it. The round trip, not the Lua, was most of Redis's time per
event on a small VM: one EVALSHA costs Redis ~35 µs of CPU before its script
does anything (system calls, the event loop), a command in the same pipeline
~3 µs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from workers.store.budget import MemoryBudget, is_oom
from workers.store.jobs import finish as finish_script
from workers.store.jobs.writes import with_room
from workers.store.lanes import scripts as lua
from workers.store.lanes.lane import TakeFrom, Taken, take_args, take_keys, taken_many
from workers.store.lua import LuaStep

__all__ = ["Batched", "Recording"]


@dataclass(frozen=True)
class Recording:
    """One outcome to record: what makes FINISH's (keys, args, tail)
    (``finish_step`` but its ``owed``), and the token to push if it answers
    that one is owed (``JobStore.finish``). A FINISH asks whether a token is
    owed to its project's held jobs only when no take follows it: a take
    spends an owed token itself (``lanes/pick.lua``)."""

    step: Callable[..., tuple[Any, Any, list[Any]]]
    owed_token: Callable[[], tuple[str, bytes]] | None = None


class Batched:
    def __init__(self, client: redis.Redis, budget: MemoryBudget | None = None) -> None:
        self._client = client
        self._budget = budget
        self._finish = LuaStep(
            client, finish_script.FINISH, finish_script.FinishKeys, finish_script.FinishArgs
        )
        self._take = LuaStep(client, lua.TAKE_MANY, lua.TakeKeys, lua.TakeManyArgs)

    def take(self, take: TakeFrom, count: int) -> list[Taken]:
        """Take and begin up to ``count`` queued jobs in one step, in the order
        to run them (the sync lane first, then the hooks in turn)."""
        return self.record([], take, count)[1]

    def record(
        self, recordings: list[Recording], take: TakeFrom | None, count: int
    ) -> tuple[list[bool], list[Taken]]:
        """Record each outcome (each its own FINISH, in order), then take up to
        ``count`` jobs, in one round trip. Returns whether each outcome was
        recorded (False: the job had already ended) and the jobs taken."""
        taking = take is not None and count > 0
        # One job to take after outcomes: the last FINISH takes it inside its
        # own script, as before batches (a second script costs Redis ~25 µs).
        inside = taking and count == 1 and bool(recordings)
        steps: list[tuple[LuaStep, tuple[Any, ...]]] = []
        for i, r in enumerate(recordings):
            owes = r.owed_token is not None
            if inside and i == len(recordings) - 1:
                steps.append((self._finish, r.step(owed=owes, take=take)))
            else:
                steps.append((self._finish, r.step(owed=owes and not taking)))
        if take is not None and taking and not inside:
            args = lua.TakeManyArgs(**vars(take_args(take)), take_count=count)
            steps.append((self._take, (take_keys(take), args)))
        if not steps:
            return [], []
        with self._client.pipeline(transaction=False) as pipe:
            for step, args in steps:
                step.queue(pipe, *args)
            replies = pipe.execute(raise_on_error=False)
        replies = [
            self._again(step, args, reply)
            for (step, args), reply in zip(steps, replies, strict=True)
        ]
        recorded = []
        for recording, reply in zip(recordings, replies, strict=False):
            recorded.append(bool(reply[0]))
            if reply[1:] == [b"owed"] and recording.owed_token is not None:
                self._client.lpush(*recording.owed_token())
        if inside:
            took = taken_many([replies[-1][1:]]) if replies[-1][1:] != [b"owed"] else []
        else:
            took = taken_many(replies[-1]) if len(steps) > len(recordings) else []
        return recorded, took

    def _again(self, step: LuaStep, args: tuple[Any, ...], reply: Any) -> Any:
        """A step the pipeline could not run: Redis lost the script (a restart,
        a failover) or refused it at maxmemory. Run alone, with room made."""
        if not isinstance(reply, Exception):
            return reply
        if isinstance(reply, redis.exceptions.NoScriptError):
            step.load()
        elif not (isinstance(reply, redis.ResponseError) and is_oom(reply)):
            raise reply
        return with_room(self._budget, step, *args)
