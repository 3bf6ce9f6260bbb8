"""Writes a job and its task message in one atomic Redis call (CREATE),
within the memory budget; an outage or a full Redis is an error, so the
intake never answers 2xx for a lost event."""

from __future__ import annotations

from typing import Any

import redis

from workers.errors import HookChanged, QueueUnavailable, StoreFull
from workers.queue.messages import run_task
from workers.settings import Settings
from workers.store import metrics
from workers.store.budget import MemoryBudget, is_oom
from workers.store.jobs.records import EventRequest
from workers.store.jobs.store import Conditions, Created, Extras, JobStore
from workers.store.lanes.lane import Lane
from workers.store.stats import buckets as stats
from workers.store.stats.buffer import buffer_for

__all__ = ["JobWriter", "UNREACHABLE"]

# What "Redis is unreachable" means (503, try again): the connection failed
# or timed out (a Sentinel with no master, a replica being promoted, Redis
# loading its data: all ConnectionErrors). Any other Redis error is a bug.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, OSError)


class JobWriter:
    """The web side's one way to queue a job: events, replays and test runs."""

    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        budget: MemoryBudget,
        grouped: JobStore | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.budget = budget
        # Async events' CREATEs go through group commit (app/group_commit.py).
        # A sync event's goes at once, as before: with it grouped, sync
        # saturation measured lower in 6 of 10 alternated pairs (a loaded VM:
        # not shown either way), and its caller waits for the run anyway.
        self.grouped = grouped or jobs

    def write(
        self,
        job_id: str,
        hook_id: str,
        version: int,
        request: EventRequest,
        history: int,
        extra: dict[str, Any] | None,
        timeout_ms: int,
        conditions: Conditions,
        lane: Lane,
        retention_s: int | None = None,
        order: dict[str, Any] | None = None,
    ) -> tuple[Created, str | None]:
        """CREATE's outcome and, for a duplicate or a quota refusal, its
        detail; raises ``StoreFull``, ``QueueUnavailable`` or ``HookChanged``."""
        extra = {**(extra or {}), "timeoutMs": timeout_ms}
        message = run_task(job_id, self.settings, lane)
        # Test runs (no history) are not events received at the intake; nor
        # are they searched, charted or replayed.
        counter = metrics.field("events_received", hook=hook_id, outcome="accepted")
        event = "inline" not in extra
        also = Extras(replay_of=extra.get("replayOf"), indexed=event, **(order or {}))
        args = (job_id, hook_id, version, request, history, message)
        options = {
            "counter": counter if history else None,
            "extra": extra,
            "conditions": conditions,
            "also": also,
            "retention_s": retention_s,
            "lane": lane,
        }
        try:
            # The memory budget: trim finished jobs first, or refuse (StoreFull).
            self.budget.make_room(incoming_bytes=_stored_bytes(request))
            store = self.jobs if lane.is_sync else self.grouped
            try:
                created, original = store.create(*args, **options)
            except redis.ResponseError as exc:
                if not is_oom(exc):
                    raise
                self.budget.make_room(refused=True)
                created, original = store.create(*args, **options)
        except redis.ResponseError as exc:
            if is_oom(exc):
                budget = "Redis is at its memory budget; the event was not accepted"
                raise StoreFull(budget) from exc
            raise  # not an outage: a 500, logged (app.errors)
        except UNREACHABLE as exc:
            raise QueueUnavailable("the queue is unavailable; the event was not accepted") from exc
        if created is Created.HOOK_CHANGED:
            raise HookChanged(f"hook {hook_id!r} changed meanwhile; the event was not accepted")
        if created is Created.OK and event and self.settings.stats_enabled:
            buffer_for(self.settings).add(stats.event_write(hook_id, "accepted", message[0]))
        return created, original


def _stored_bytes(request: EventRequest) -> int:
    """At most about what the event's job takes in Redis (its body is stored
    compressed; 1 kB for its other fields, its token and index entries)."""
    return len(request.body) + sum(len(k) + len(v) for k, v in request.headers.items()) + 1024
