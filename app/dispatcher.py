"""The dispatcher: how the web app hands events to the workers (one atomic
Redis call per event), waits for sync jobs, replays and redelivers."""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson
import redis
from celery import Celery

from app import replays
from app.hook_cache import HookCache
from app.sync_waiter import SyncWaiter
from workers.errors import (
    HookChanged,
    IdempotencyKeyReused,
    NotReplicated,
    QueueFull,
    QueueUnavailable,
    StoreFull,
    TooManyRequests,
)
from workers.ordering import KeyNotBlocked, placement
from workers.queue.celery_app import make_celery
from workers.queue.messages import run_task
from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.access import quotas as quotas_
from workers.store.budget import MemoryBudget, is_oom
from workers.store.connection import client_for, wait_replicas
from workers.store.deliveries import DeliveryStore
from workers.store.hooks import Hook, HookStore
from workers.store.jobs.records import EventRequest, new_job_id
from workers.store.jobs.store import Conditions, Created, Extras, JobStore
from workers.store.lanes.lane import Lane
from workers.store.stats import buckets as stats
from workers.store.stats.buffer import buffer_for

__all__ = ["Dispatcher", "Submitted", "UNREACHABLE"]

_WEB_REDIS_CONNECTIONS = 128  # per web process; sync waits hold none (app/sync_waiter.py)
# What "Redis is unreachable" means (503, try again): the connection failed
# or timed out (a Sentinel with no master, a replica being promoted, Redis
# loading its data: all ConnectionErrors). Any other Redis error is a bug.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, OSError)


class Submitted(NamedTuple):
    job_id: str
    duplicate: bool  # a retry of an earlier event: ``job_id`` is that event's


class Dispatcher:
    """Writes a job and its task message in one atomic Redis call; raises
    ``QueueUnavailable`` unless both are stored, so the intake never answers
    2xx for a lost event."""

    def __init__(self, settings: Settings, celery_app: Celery | None = None) -> None:
        self.settings = settings
        # Bounded: under gevent, many requests at once share these connections.
        self.redis = client_for(settings, max_connections=_WEB_REDIS_CONNECTIONS)
        self.budget = MemoryBudget(self.redis, settings)
        self.jobs = JobStore(
            self.redis,
            settings.retention_s,
            client_for(settings, blocking=True),
            replicas=(wait_replicas(settings), settings.redis_wait_timeout_ms),
        )
        self.hooks = HookStore(self.redis)
        self.deliveries = DeliveryStore(self.redis, settings.retention_s)
        self.hook_cache = HookCache(self.hooks, quotas_.ProjectStore(self.redis))
        self.waiter = SyncWaiter(client_for(settings, blocking=True, retries="patient"))
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
        conditions = Conditions(
            hook_etag=hook_etag,
            idempotency_key=(
                keys.idempotency(hook.id, idempotency_key) if idempotency_key else None
            ),
            slot=(
                (keys.in_flight(hook.id), hook.limits.max_concurrent, self._slot_lapse_s(hook))
                if take_slot
                else None
            ),
            duplicate_counter=(
                metrics.field("events_received", hook=hook.id, outcome="duplicate")
                if idempotency_key
                else None
            ),
            fingerprint=request.fingerprint() if idempotency_key else "",
            rate=quotas_.rate_condition(hook.project, quotas),
            store_full_key=quotas_.store_full_key(hook.project, quotas),
        )
        history = hook.requests_to_track if track else 0
        extra = {"project": hook.project, **(extra or {})}  # whose job (access checks)
        lane = Lane.sync(hook.id) if take_slot else Lane(hook.id, self._max_queued(hook))
        if take_slot:
            self.waiter.expect(job_id)  # before the job exists: its end is not missed
        created = None
        try:
            created, original = self._enqueue(
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
        if created is Created.QUEUE_FULL:
            raise QueueFull(
                f"hook {hook.id!r} already has {lane.max_queued} events queued; "
                "the event was not accepted"
            )
        if created in (Created.RATE_LIMITED, Created.PROJECT_FULL):
            raise quotas_.refusal(self.redis, hook.project, created, original)
        if created is Created.SLOT_FULL:
            raise TooManyRequests(
                f"hook {hook.id!r} already has {hook.limits.max_concurrent} requests in flight"
            )
        if created is Created.KEY_REUSED:
            raise IdempotencyKeyReused(
                "this idempotency key was first used with a different request "
                "(method, path, query or body); use a new key for a new request"
            )
        if created is Created.NOT_BLOCKED:
            raise KeyNotBlocked(f"key {order_key!r} is not blocked by job {order_takeover!r}")
        if created is Created.DUPLICATE and original is not None:
            return Submitted(original, duplicate=True)
        return Submitted(job_id, duplicate=False)

    def _max_queued(self, hook: Hook) -> int:
        if hook.limits.max_queued is None:
            return self.settings.max_queued_per_hook
        return hook.limits.max_queued

    def _slot_lapse_s(self, hook: Hook) -> float:
        return hook.limits.wait_ms / 1000 + self.settings.sync_slot_grace_s

    def wait_for(
        self, job_id: str, timeout_s: float, *, release_slot_of: str | None = None
    ) -> dict[bytes, bytes] | None:
        """Wait through the process's sync waiter (no connection held while
        waiting). When the job's end was published with its answer, that
        answer is returned without a read (FINISH gave the sync slot back:
        ``jobs/answer.py``); else the job is read, giving back its sync slot
        in hook ``release_slot_of`` in the same round trip."""
        released = False

        def release(pipe: Any) -> None:
            nonlocal released
            pipe.zrem(keys.in_flight(release_slot_of), job_id)
            released = True

        try:
            _, fields = self.waiter.wait_answer(
                job_id, timeout_s, lambda: self.jobs.is_final(job_id)
            )
            if fields is not None:
                released = True
                return fields
            # Ended (read its status), or the wait timed out: read it once.
            return self.jobs.wait(job_id, 0, release if release_slot_of else None)
        finally:
            if release_slot_of is not None and not released:
                self.release_slot(release_slot_of, job_id)

    def release_slot(self, hook_id: str, job_id: str) -> None:
        """Give back the sync slot ``submit(take_slot=True)`` took for a job.
        Best effort: an answer already made is not turned into an error, and a
        slot never given back lapses on its own (``settings.sync_slot_grace_s``
        after the request's wait)."""
        try:
            self.redis.zrem(keys.in_flight(hook_id), job_id)
        except (redis.RedisError, OSError):
            pass

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
        self._enqueue(
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

    def _enqueue(
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
            self.budget.make_room()
            try:
                created, original = self.jobs.create(*args, **options)
            except redis.ResponseError as exc:
                if not is_oom(exc):
                    raise
                self.budget.make_room(refused=True)
                created, original = self.jobs.create(*args, **options)
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
