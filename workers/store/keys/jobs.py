"""A job's keys: its record, its end, the running set, sync slots, idempotency."""

from __future__ import annotations

import hashlib

from workers.store.keys.prefix import PREFIX


def job(job_id: str) -> str:
    """Hash: one job's state, request, result and logs."""
    return f"{PREFIX}:job:{job_id}"


def history(hook_id: str) -> str:
    """List: the hook's most recent job ids, newest first."""
    return f"{PREFIX}:history:{hook_id}"


def finished() -> str:
    """Sorted set: ids of finished jobs scored by finish time; the memory
    budget trims the oldest first (workers/store/budget.py)."""
    return f"{PREFIX}:finished"


def job_done(job_id: str) -> str:
    """List: pushed once when the job ends, so a waiter can block on it
    (only when ``job_waiting`` says one waits)."""
    return f"{PREFIX}:done:{job_id}"


def job_waiting(job_id: str) -> str:
    """String: set by a waiter before it blocks on ``job_done``; FINISH pushes
    the done list only when it exists."""
    return f"{PREFIX}:waiting:{job_id}"


def running() -> str:
    """Sorted set: running job ids scored by the time they must have ended."""
    return f"{PREFIX}:running"


def in_flight(hook_id: str) -> str:
    """Sorted set: job ids of a hook's sync requests waiting now, scored by
    when their slot lapses if never given back."""
    return f"{PREFIX}:inflight:{hook_id}"


def idempotency(hook_id: str, key: str) -> str:
    """String: "<request fingerprint> <job id>" of the job first created for an
    idempotency key. The key is hashed, never cut, so keys that differ only
    past some length never merge (and a long key costs no Redis memory)."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{PREFIX}:idem:{hook_id}:{digest}"


def idempotency_of(hook_id: str) -> str:
    """SCAN pattern: every idempotency key of a hook (``idempotency``)."""
    return f"{PREFIX}:idem:{hook_id}:*"
