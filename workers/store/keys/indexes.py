"""The job search indexes (store/jobs/index.py) and what trims them."""

from __future__ import annotations

from workers.store.keys.prefix import PREFIX


def jobs_index() -> str:
    """Sorted set: every event's job id, scored by creation time (search)."""
    return f"{PREFIX}:index:jobs"


def hook_jobs_index(hook_id: str) -> str:
    """Sorted set: one hook's job ids, scored by creation time (search)."""
    return f"{PREFIX}:index:hook:{hook_id}"


def failed_jobs_index() -> str:
    """Sorted set: failed jobs (events, not test runs), scored by creation time."""
    return f"{PREFIX}:index:failed"


def hook_failed_index(hook_id: str) -> str:
    """Sorted set: one hook's failed jobs, scored by creation time."""
    return f"{PREFIX}:index:failed:{hook_id}"


def dead_letters_index() -> str:
    """Sorted set: failed jobs not yet replayed (the dead letters), by creation time."""
    return f"{PREFIX}:index:dead"


def hook_dead_letters_index(hook_id: str) -> str:
    """Sorted set: one hook's dead letters, scored by creation time."""
    return f"{PREFIX}:index:dead:{hook_id}"


def delivery_failed_index() -> str:
    """Sorted set: jobs whose callback delivery failed, scored by creation time."""
    return f"{PREFIX}:index:delivery-failed"


def index_expiry() -> str:
    """Sorted set: every job in the fleet-wide indexes (``jobs_index``,
    ``failed_jobs_index``, ``dead_letters_index``, ``delivery_failed_index``),
    scored by when the job expires (``+inf`` while it has not ended or a
    callback is still due). An entry leaves those indexes when its job goes."""
    return f"{PREFIX}:index:expiry"


def hook_jobs(hook_id: str) -> str:
    """Sorted set: every job of a hook (test runs included), scored by when it
    expires (``+inf`` while it has not ended or a callback is still due).
    What deleting the hook deletes, and what trims the hook's own indexes
    (``hook_jobs_index``, ``hook_failed_index``, ``hook_dead_letters_index``).
    A job absent from it belongs to a deleted hook: it is indexed no more."""
    return f"{PREFIX}:hookjobs:{hook_id}"
