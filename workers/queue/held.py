"""The jobs a worker child holds within one task: taken off their lanes up to
``HOOKLET_TAKE_BATCH`` at a time (``store.lanes.batched``), run in the order
taken, and the outcomes that may wait recorded together with the next take.

An outcome waits only while the child holds more jobs, and only for an async
job whose run reached nothing outside the isolate (no fetch, no KV): if the
child dies before recording it, the job is queued again with the others it
held (``child_watch``) and running it again changes nothing but its
``attempts``. A sync job's outcome, or one with host calls, is recorded at
once, together with every outcome held back before it. Either way each
outcome is its own atomic FINISH, in the order the runs ended.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from workers.queue.batch import Batch
from workers.store.lanes.batched import Batched, Recording
from workers.store.lanes.lane import Taken

__all__ = ["Held", "HeldJobs"]

AfterRecorded = Callable[[bool], None]  # told whether the outcome was recorded


class Held(NamedTuple):
    job: Taken
    from_queue: bool  # taken straight off the queue, not claimed by a Celery token
    waited: bool  # taken behind others in one step: its run began later than its take


class HeldJobs:
    def __init__(self, batched: Batched, batch: Batch | None, per_take: int) -> None:
        self._batched = batched
        self._batch = batch
        self._per_take = max(per_take, 1)
        self.jobs: deque[Held] = deque()
        self._pending: list[tuple[Recording, AfterRecorded]] = []

    def add(self, job: Taken, from_queue: bool) -> None:
        self.jobs.append(Held(job, from_queue, False))

    def next(self) -> Held | None:
        """The next job to run: a held one, else one taken now (with the
        outcomes held back recorded in the same round trip), else None."""
        if not self.jobs:
            self.flush(take=True)
        return self.jobs.popleft() if self.jobs else None

    def record(
        self, recording: Recording, after: AfterRecorded, can_wait: bool, take: bool = True
    ) -> None:
        """An outcome: held back while more jobs are held and it ``can_wait``;
        else recorded now, after those held back, and with ``take`` and no job
        held, together with the next take."""
        self._pending.append((recording, after))
        if not (can_wait and self.jobs):
            self.flush(take=take and not self.jobs)

    def flush(self, take: bool) -> None:
        """Record the outcomes held back; with ``take``, take the next jobs as
        the batch allows, in the same round trip."""
        count = self._batch.take_count(self._per_take) if take and self._batch else 0
        pending, self._pending = self._pending, []
        if not pending and not count:
            return
        where = self._batch.take if count and self._batch else None
        recorded, taken = self._batched.record([r for r, _ in pending], where, count)
        if self._batch is not None:
            self._batch.returned(count - len(taken))
        for (_, after), ok in zip(pending, recorded, strict=True):
            after(ok)
        self.jobs.extend(Held(job, True, i > 0) for i, job in enumerate(taken))

    def left(self) -> list[Held]:
        """The jobs still held, never run (the task is ending early): the caller
        queues them again."""
        left, self.jobs = list(self.jobs), deque()
        return left
