"""Callbacks due; each destination's breaker, parked deliveries, rates (store/destinations/)."""

from __future__ import annotations

from workers.store.keys.prefix import PREFIX


def callbacks_due() -> str:
    """Sorted set: job ids whose callback is due again, scored by due time."""
    return f"{PREFIX}:callbacks:due"


def destinations() -> str:
    """Sorted set: every callback destination (``scheme://host:port``) by when
    a delivery last touched it (``GET /api/destinations`` lists these)."""
    return f"{PREFIX}:destinations"


def destination(dest: str) -> str:
    """Hash: a destination's circuit breaker: failure streak, ``openUntil``,
    ``cooldownS``, the half-open probe's lease, last error and success."""
    return f"{PREFIX}:destination:{dest}"


def destination_parked(dest: str) -> str:
    """Sorted set: job ids whose callback waits for the destination's breaker
    to close, by when they were parked (the oldest is the next probe)."""
    return f"{PREFIX}:destination:{dest}:parked"


def destination_pending(dest: str) -> str:
    """Sorted set: job ids with a callback pending for the destination
    (parked, waiting for a retry or a rate slot, or in flight), scored by when
    the entry goes stale (the job's retention from its last touch)."""
    return f"{PREFIX}:destination:{dest}:pending"


def destination_rate(dest: str, hook_id: str) -> str:
    """String: the hook's token bucket for the destination (``callback.ratePerS``),
    as the time its next call may go (GCRA's theoretical arrival, epoch ms);
    expires once idle."""
    return f"{PREFIX}:destination:{dest}:rate:{hook_id}"


def destination_wakeups() -> str:
    """Sorted set: destinations whose breaker may half-open (or whose probe
    lease lapses), by when; the callback promoter sends one parked delivery
    then as the probe."""
    return f"{PREFIX}:destinations:wake"
