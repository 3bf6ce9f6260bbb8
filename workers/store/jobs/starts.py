"""Beginning jobs: the job store's side that takes a job off its lane and
marks it running, each in one atomic step (``JobStore`` inherits it).

Apart from ``reads.py`` (no state changes) and ``store.py`` (a job's
creation, end and requeue), because the three ways in share one contract:
count the attempt, set the deadline and hand back the job's fields."""

from __future__ import annotations

import time

from workers.store import keys
from workers.store.jobs import scripts as lua
from workers.store.lanes import scripts as lane_scripts
from workers.store.lanes.lane import TakeFrom, Taken, begun, take_args, take_keys, taken
from workers.store.lua import LuaStep

__all__ = ["JobStarts"]


class JobStarts:
    _retention_s: int
    _start: LuaStep
    _take: LuaStep
    _claim: LuaStep

    def start(
        self, job_id: str, worker: str, margin_ms: int
    ) -> tuple[dict[bytes, bytes] | None, bool]:
        """Begin this job (out of its lane) in one atomic step, unless it
        already ended: count the attempt, mark it running with a deadline
        (``timeoutMs`` + ``margin_ms``). Returns its fields and whether to run it.
        Workers claim and take instead; this is for tests and tools."""
        lanes = (keys.pending(""), keys.pending_sync(""), keys.ready_hooks())
        args = (job_id, worker, time.time(), margin_ms, keys.hook(""), *lanes)
        keys_ = lua.BeginKeys(job_key=keys.job(job_id), running_key=keys.running())
        return begun(self._start(keys_, lua.StartArgs(*args, keys.ready_sync_hooks())))

    def claim(self, token_id: str, take: TakeFrom) -> Taken | None:
        """What a Celery-delivered token runs, begun in one atomic step: the
        job it is bound to if that job's child died under it, else the next
        queued job (see ``lanes/scripts.py``), to which it is bound. None if
        there is nothing for it to run."""
        reply = self._claim(
            lane_scripts.ClaimKeys(
                token_key=keys.token(token_id),
                sync_ready_key=keys.ready_sync_hooks(),
                ready_key=keys.ready_hooks(),
                running_key=keys.running(),
            ),
            lane_scripts.ClaimArgs(
                **vars(take_args(take)), token_id=token_id, token_ttl_s=self._retention_s
            ),
        )
        return taken(reply)

    def take_queued(self, take: TakeFrom) -> Taken | None:
        """Take the next queued job (the sync lane's first, else by hooks in
        turn) and begin it, as ``start`` does, in one atomic step, spending
        a token waiting in a queue list. Returns None, and leaves the job,
        when nothing is queued or the job's hard deadline would fall after
        ``take.latest_deadline``."""
        return taken(self._take(take_keys(take), take_args(take)))
