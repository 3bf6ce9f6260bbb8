"""Taking queued jobs after a task's own job: what a worker child may still
take, and when it stops (see ``Executor.run``). Each take looks at the sync
lane first, then at the hooks in turn (``store.lanes.scripts``)."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

from workers.queue.names import RUN_SCRIPT, SCRIPTS_QUEUE, SYNC_QUEUE
from workers.settings import Settings
from workers.store import keys
from workers.store.lanes.lane import TakeFrom

__all__ = ["Batch"]


@dataclass
class Batch:
    """The queued jobs a task's child may still take after the task's own job."""

    take: TakeFrom
    remaining: int
    until: float  # monotonic clock
    max_peak_rss_bytes: int

    @classmethod
    def for_task(
        cls, settings: Settings, worker: str, until: float, latest_deadline: float
    ) -> Batch:
        """Up to the settings' ``batch_max_jobs`` jobs, until the monotonic
        clock passes ``until``; only jobs whose hard deadline falls before
        ``latest_deadline`` (epoch seconds: the task's own time limit, which
        Celery enforces)."""
        take = TakeFrom(
            keys.celery_queue(SYNC_QUEUE),
            keys.celery_queue(SCRIPTS_QUEUE),
            RUN_SCRIPT,
            worker,
            settings.hard_limit_margin_ms,
            latest_deadline,
        )
        peak = settings.max_memory_per_child_mb * 2**20
        return cls(take, settings.batch_max_jobs, until, peak)

    def next_take(self) -> TakeFrom | None:
        """Whether to take another job: there is room and time left, and the
        child's peak memory is under the cap Celery recycles children at
        (over it, Celery replaces the child after this task)."""
        if self.remaining <= 0 or time.monotonic() >= self.until:
            return None
        if resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 > self.max_peak_rss_bytes:
            return None
        self.remaining -= 1
        return self.take

    def take_count(self, at_most: int) -> int:
        """How many jobs to take in one step (``HOOKLET_TAKE_BATCH``), counted
        as taken: 0 when ``next_take`` would say no."""
        if self.next_take() is None:
            return 0
        count = min(at_most, self.remaining + 1)
        self.remaining -= count - 1
        return count

    def returned(self, count: int) -> None:
        """``count`` of the jobs counted by ``take_count`` were not there."""
        self.remaining += count
