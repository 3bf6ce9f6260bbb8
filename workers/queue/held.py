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

An ordered job's outcome passes its key on to the key's next event, which
waits for it; so it waits only behind short runs (``RunTimes``): before
the child starts a held job, it records the ordered outcomes held back
unless that job's hook last ran here quickly enough that the oldest of them
is recorded within ``HOOKLET_ORDERED_HOLD_MS`` of its run's end. Under a
backlog of short runs a key's next event waits about that long and the
child spares the round trips; a long run never keeps a key waiting.

No outcome waits past the time the reaper would take its job for lost (its
take, its timeout and the reaper's grace: ``reap_due``): before a held job
whose run could end later starts, the outcomes held back are recorded. Else
the reaper queued the job again, another child ran it a second time, and an
ordered job's key passed on while that second run went on.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from workers.queue.batch import Batch
from workers.store.lanes.batched import Batched, Recording
from workers.store.lanes.lane import Taken

__all__ = ["Held", "HeldJobs", "RunTimes", "reap_due"]

AfterRecorded = Callable[[bool], None]  # told whether the outcome was recorded


class Held(NamedTuple):
    job: Taken
    from_queue: bool  # taken straight off the queue, not claimed by a Celery token
    waited: bool  # taken behind others in one step: its run began later than its take


class RunTimes:
    """How long each hook's last run in this child took, from its start to its
    outcome (the run and what records it): the guess at its next run's length
    that says whether an ordered outcome may wait behind it. One per child,
    across its tasks."""

    _MAX_HOOKS = 4096  # forgotten past this many hooks (they are guessed long)

    def __init__(self, ordered_hold_ms: float) -> None:
        self.hold_s = max(ordered_hold_ms, 0.0) / 1000
        self._last_s: dict[bytes, float] = {}
        self._running: tuple[bytes, float] | None = None

    def started(self, job: Taken) -> None:
        hook = (job.raw or {}).get(b"hookId", b"")
        self._running = (hook, time.monotonic())

    def ended(self) -> None:
        if self._running is None:
            return
        hook, started = self._running
        self._running = None
        if len(self._last_s) >= self._MAX_HOOKS and hook not in self._last_s:
            self._last_s.clear()
        self._last_s[hook] = time.monotonic() - started

    def may_wait_behind(self, job: Taken, held_since: float) -> bool:
        """Whether an ordered outcome held back since ``held_since`` would
        still be recorded within the hold after ``job`` runs. A hook not run
        here yet counts as long; a job that will not run (gone, ended) as
        instant."""
        if job.raw is None or not job.to_run:
            guess: float | None = 0.0
        else:
            guess = self._last_s.get(job.raw.get(b"hookId", b""))
        if guess is None:
            return False
        return time.monotonic() - held_since + guess <= self.hold_s


def _timeout_s(job: Taken) -> float:
    return int((job.raw or {}).get(b"timeoutMs") or 60_000) / 1000  # as lanes/begin.lua


def reap_due(job: Taken, grace_s: float) -> float:
    """Epoch s: the earliest the reaper may queue ``job`` again if its outcome
    is not recorded. Its hard deadline is at least its take (``startedAt``)
    plus its timeout and margin; a run started now ends (or its child is
    killed) within its own timeout and the same margin."""
    started = float((job.raw or {}).get(b"startedAt") or time.time())
    return started + _timeout_s(job) + grace_s


class HeldJobs:
    def __init__(
        self,
        batched: Batched,
        batch: Batch | None,
        per_take: int,
        times: RunTimes | None = None,
        reaper_grace_s: float = 0.0,
    ) -> None:
        self._batched = batched
        self._batch = batch
        self._per_take = max(per_take, 1)
        self._times = times or RunTimes(0)
        self._grace_s = reaper_grace_s
        self.jobs: deque[Held] = deque()
        self._pending: list[tuple[Recording, AfterRecorded]] = []
        self._ordered_since: float | None = None  # the oldest ordered outcome held back
        self._running: Taken | None = None  # the job whose outcome comes next
        self._due: float | None = None  # the earliest reap_due of the outcomes held back

    def add(self, job: Taken, from_queue: bool) -> None:
        self.jobs.append(Held(job, from_queue, False))

    def next(self) -> Held | None:
        """The next job to run: a held one, else one taken now (with the
        outcomes held back recorded in the same round trip), else None. An
        ordered outcome held back is recorded first unless the next job is
        guessed short enough (``RunTimes``)."""
        if not self.jobs:
            self.flush(take=True)
        elif self._due is not None and time.time() + _timeout_s(self.jobs[0].job) > self._due:
            self.flush(take=False)  # its run could end after a held job is reaped
        elif self._ordered_since is not None and not self._times.may_wait_behind(
            self.jobs[0].job, self._ordered_since
        ):
            self.flush(take=False)
        if not self.jobs:
            return None
        held = self.jobs.popleft()
        self._times.started(held.job)
        self._running = held.job
        return held

    def record(
        self,
        recording: Recording,
        after: AfterRecorded,
        can_wait: bool,
        take: bool = True,
        ordered: bool = False,
    ) -> None:
        """An outcome: held back while more jobs are held and it ``can_wait``
        (an ``ordered`` one only with a hold set); else recorded now, after
        those held back, and with ``take`` and no job held, together with the
        next take."""
        self._times.ended()
        self._pending.append((recording, after))
        if ordered and self._times.hold_s <= 0:
            can_wait = False
        if not (can_wait and self.jobs):
            self.flush(take=take and not self.jobs)
            return
        if self._running is not None:
            due = reap_due(self._running, self._grace_s)
            self._due = due if self._due is None else min(self._due, due)
        if ordered and self._ordered_since is None:
            self._ordered_since = time.monotonic()

    def flush(self, take: bool) -> None:
        """Record the outcomes held back; with ``take``, take the next jobs as
        the batch allows, in the same round trip."""
        count = self._batch.take_count(self._per_take) if take and self._batch else 0
        pending = list(self._pending)
        if not pending and not count:
            return
        where = self._batch.take if count and self._batch else None
        recorded, taken = self._batched.record([r for r, _ in pending], where, count)
        # Forgotten only once recorded: a call cut short (a time limit raised
        # inside it) leaves them to the task's way out (``Executor._let_go``).
        del self._pending[: len(pending)]
        self._ordered_since = self._due = None
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
