"""The dispatcher: the web app's one handle on Redis and the workers. It
hands events to the workers (``submit``: one atomic Redis call per event),
waits for sync jobs, runs tests, replays and redelivers; the parts it joins
are ``admission``, ``job_writer`` and ``sync_slots``."""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson
import redis
from celery import Celery

from app import replays
from app.admission import conditions_for, lane_for, refusal_for
from app.group_commit import GroupCommitRedis
from app.hook_cache import HookCache
from app.job_writer import JobWriter
from app.sync_slots import SyncSlots
from app.sync_waiter import SyncWaiter
from workers.errors import NotReplicated
from workers.ordering import placement
from workers.queue.celery_app import make_celery
from workers.settings import Settings
from workers.store import metrics
from workers.store.access import quotas as quotas_
from workers.store.budget import MemoryBudget
from workers.store.connection import client_for, wait_replicas
from workers.store.deliveries import DeliveryStore
from workers.store.hooks import Hook, HookStore
from workers.store.jobs.records import EventRequest, new_job_id
from workers.store.jobs.store import Conditions, Created, JobStore
from workers.store.lanes.lane import Lane
from workers.store.stats import buckets as stats
from workers.store.stats.buffer import buffer_for

__all__ = ["Dispatcher", "Submitted"]

_WEB_REDIS_CONNECTIONS = 128  # per web process; sync waits hold none (app/sync_waiter.py)


class Submitted(NamedTuple):
    job_id: str
    duplicate: bool  # a retry of an earlier event: ``job_id`` is that event's


class Dispatcher:
    """Queues a job and its task message in one atomic Redis call; raises
    ``QueueUnavailable`` unless both are stored, so the intake never answers
    2xx for a lost event."""

    def __init__(self, settings: Settings, celery_app: Celery | None = None) -> None:
        self.settings = settings
        # Bounded: under gevent, many requests at once share these connections.
        self.redis = client_for(settings, max_connections=_WEB_REDIS_CONNECTIONS)
        self.budget = MemoryBudget(self.redis, settings)
        replicas = (wait_replicas(settings), settings.redis_wait_timeout_ms)
        blocking = client_for(settings, blocking=True)
        self.jobs = JobStore(self.redis, settings.retention_s, blocking, replicas=replicas)
        # Concurrent async events' CREATEs share a round trip (app/group_commit.py).
        self.grouped = GroupCommitRedis(self.redis)
        grouped_jobs = JobStore(self.grouped, settings.retention_s, blocking, replicas=replicas)
        self.hooks = HookStore(self.redis)
        self.deliveries = DeliveryStore(self.redis, settings.retention_s)
        self.hook_cache = HookCache(self.hooks, quotas_.ProjectStore(self.redis))
        self.waiter = SyncWaiter(client_for(settings, blocking=True, retries="patient"))
        self.writer = JobWriter(settings, self.jobs, self.budget, grouped_jobs)
        self.sync_slots = SyncSlots(self.redis, self.jobs, self.waiter)
        self.celery = celery_app or make_celery(settings)

    def submit(
        self,
        hook: Hook,
        request: EventRequest,
        *,
        extra: dict[str, Any] | None = None,
        track: bool = True,
        job_id: str | None = None,
        hook_etag: str | None = None,
        take_slot: bool = False,
        idempotency_key: str | None = None,
        quotas: dict[str, int] | None = None,
        order_key: str | None = None,
        order_takeover: str | None = None,
    ) -> Submitted:
        """Queue an event of ``hook``, in one atomic Redis call.

        - ``hook_etag`` (a cached copy's): raises ``HookChanged`` if the
          stored hook is no longer that copy;
        - ``idempotency_key`` (a sender's delivery id): if an earlier event of
          the hook had it and the same request (``EventRequest.fingerprint``),
          nothing is queued and that event's job is returned as a duplicate;
          the same key with another request raises ``IdempotencyKeyReused``;
        - ``take_slot``: takes one of the hook's ``maxConcurrent`` sync slots
          (raises ``TooManyRequests`` if none is free); give it back with
          ``wait_for(release_slot_of=...)`` or ``release_slot``. The job then
          waits in the sync lane; otherwise in the hook's own, which holds at
          most ``maxQueued`` jobs (raises ``QueueFull`` past it). ``quotas``: the
          project's (``eventsPerMinute``: ``RateLimited`` past it).
          ``order_key``, ``order_takeover``: ``workers.ordering.placement``."""
        job_id = job_id or new_job_id()
        conditions = conditions_for(
            hook,
            request,
            self.settings,
            hook_etag=hook_etag,
            idempotency_key=idempotency_key,
            take_slot=take_slot,
            quotas=quotas,
        )
        history = hook.requests_to_track if track else 0
        extra = {"project": hook.project, **(extra or {})}  # whose job (access checks)
        lane = lane_for(hook, self.settings, take_slot=take_slot)
        if take_slot:
            self.waiter.expect(job_id)  # before the job exists: its end is not missed
        created = None
        try:
            created, original = self.writer.write(
                job_id,
                hook.id,
                hook.version,
                request,
                history,
                extra,
                hook.limits.timeout_ms,
                conditions,
                lane,
                hook.retention_s,
                placement(hook.ordering, order_key, order_takeover),
            )
        except NotReplicated:
            # Written, but refused: nobody waits for it, so its slot is free now.
            if take_slot:
                self.release_slot(hook.id, job_id)
            raise
        finally:
            if take_slot and created is not Created.OK:
                self.waiter.forget(job_id)
        refused = refusal_for(
            created,
            original,
            hook=hook,
            lane=lane,
            client=self.redis,
            order_key=order_key,
            order_takeover=order_takeover,
        )
        if refused is not None:
            raise refused
        if created is Created.DUPLICATE and original is not None:
            return Submitted(original, duplicate=True)
        return Submitted(job_id, duplicate=False)

    def wait_for(
        self, job_id: str, timeout_s: float, *, release_slot_of: str | None = None
    ) -> dict[bytes, bytes] | None:
        """A sync job's answer (``SyncSlots.wait_for``)."""
        return self.sync_slots.wait_for(job_id, timeout_s, release_slot_of=release_slot_of)

    def release_slot(self, hook_id: str, job_id: str) -> None:
        """Give back the sync slot ``submit(take_slot=True)`` took for a job
        (``SyncSlots.release``: best effort)."""
        self.sync_slots.release(hook_id, job_id)

    def count_refusal(self, hook_id: str, outcome: str) -> None:
        """Count a request the intake turned away (best effort: Redis may be down)."""
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                metrics.record(
                    pipe, [(metrics.field("events_received", hook=hook_id, outcome=outcome), 1)]
                )
                pipe.execute()
        except (redis.RedisError, OSError):
            pass
        if self.settings.stats_enabled:
            buffer_for(self.settings).add(stats.event_write(hook_id, outcome))

    def replay(self, job_id: str) -> str:
        """Run a stored event again, as a new job linked to the original
        (``replays.replay``: only under the hook version that received it)."""
        return replays.replay(self, job_id)

    def redeliver(self, job_id: str) -> None:
        """Queue the job's callback once more, now (``replays.redeliver``)."""
        replays.redeliver(self, job_id)

    def submit_inline(self, spec: dict[str, Any], request: EventRequest, timeout_ms: int) -> str:
        """A test run: the script travels with the job, no history is touched."""
        job_id = new_job_id()
        extra = {"inline": orjson.dumps(spec)}
        self.writer.write(
            job_id,
            spec.get("hookId", ""),
            int(spec.get("version", 0)),
            request,
            0,
            extra,
            timeout_ms,
            Conditions(),
            Lane.sync(spec.get("hookId", "")),  # someone waits for it
        )
        return job_id
