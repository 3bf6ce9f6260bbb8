"""What an event must pass to be queued, as the one CREATE call checks it
(``Conditions``), which lane its job waits in, and the error each refused
``Created`` outcome answers with (the intake maps these to HTTP)."""

from __future__ import annotations

import redis

from workers.errors import HookletError, IdempotencyKeyReused, QueueFull, TooManyRequests
from workers.ordering import KeyNotBlocked
from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.access import quotas as quotas_
from workers.store.hooks import Hook
from workers.store.jobs.records import EventRequest
from workers.store.jobs.store import Conditions, Created
from workers.store.lanes.lane import Lane

__all__ = ["conditions_for", "lane_for", "refusal_for"]


def conditions_for(
    hook: Hook,
    request: EventRequest,
    settings: Settings,
    *,
    hook_etag: str | None,
    idempotency_key: str | None,
    take_slot: bool,
    quotas: dict[str, int] | None,
) -> Conditions:
    """What CREATE checks before it writes the job (``Dispatcher.submit``
    says what each option means to the caller)."""
    return Conditions(
        hook_etag=hook_etag,
        idempotency_key=(keys.idempotency(hook.id, idempotency_key) if idempotency_key else None),
        slot=(
            (keys.in_flight(hook.id), hook.limits.max_concurrent, _slot_lapse_s(hook, settings))
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


def lane_for(hook: Hook, settings: Settings, *, take_slot: bool) -> Lane:
    """A sync job waits in the sync lane; any other in its hook's own, which
    holds at most ``maxQueued`` jobs."""
    return Lane.sync(hook.id) if take_slot else Lane(hook.id, _max_queued(hook, settings))


def refusal_for(
    created: Created,
    original: str | None,
    *,
    hook: Hook,
    lane: Lane,
    client: redis.Redis,
    order_key: str | None,
    order_takeover: str | None,
) -> HookletError | None:
    """The error a refused event answers with; ``None`` when CREATE queued
    it or found it a duplicate. ``client`` reads a quota's retry time."""
    if created is Created.QUEUE_FULL:
        return QueueFull(
            f"hook {hook.id!r} already has {lane.max_queued} events queued; "
            "the event was not accepted"
        )
    if created in (Created.RATE_LIMITED, Created.PROJECT_FULL):
        return quotas_.refusal(client, hook.project, created, original)
    if created is Created.SLOT_FULL:
        return TooManyRequests(
            f"hook {hook.id!r} already has {hook.limits.max_concurrent} requests in flight"
        )
    if created is Created.KEY_REUSED:
        return IdempotencyKeyReused(
            "this idempotency key was first used with a different request "
            "(method, path, query or body); use a new key for a new request"
        )
    if created is Created.NOT_BLOCKED:
        return KeyNotBlocked(f"key {order_key!r} is not blocked by job {order_takeover!r}")
    return None


def _max_queued(hook: Hook, settings: Settings) -> int:
    if hook.limits.max_queued is None:
        return settings.max_queued_per_hook
    return hook.limits.max_queued


def _slot_lapse_s(hook: Hook, settings: Settings) -> float:
    return hook.limits.wait_ms / 1000 + settings.sync_slot_grace_s
