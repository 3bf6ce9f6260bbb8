"""The lanes' keys (store/lanes/): queued jobs, the ready rotations, tokens, lingering."""

from __future__ import annotations

from workers.store.keys.prefix import PREFIX


def celery_queue(queue: str) -> str:
    """List: a Celery queue as kombu's Redis transport stores it (priority 0,
    no global key prefix). The intake pushes task messages here directly."""
    return queue


def pending(hook_id: str) -> str:
    """List: the hook's queued async job ids, oldest first (FIFO per hook)."""
    return f"{PREFIX}:pending:{hook_id}"


def pending_sync(hook_id: str) -> str:
    """List: the hook's queued sync job ids (the sync lane), oldest first;
    the sync lane is taken from before any async job."""
    return f"{PREFIX}:pending-sync:{hook_id}"


def ready_hooks() -> str:
    """List: the rotation of hooks with queued async jobs, each once, the one
    to take from next first (a hook is in it iff its ``pending`` list is not
    empty)."""
    return f"{PREFIX}:ready"


def ready_sync_hooks() -> str:
    """List: ``ready_hooks`` for the sync lane (``pending_sync`` lists)."""
    return f"{PREFIX}:ready-sync"


def sync_done_channel() -> str:
    """Pub/sub channel: the id of each sync-lane job that ends (the web
    processes' sync waiters listen to it)."""
    return f"{PREFIX}:sync-done"


def sync_answer_channel() -> str:
    """Pub/sub channel: each sync-lane job that ends, with its answer
    (``jobs/answer.py``), so the web's waiter answers without a read."""
    return f"{PREFIX}:sync-answer"


def lingering() -> str:
    """Sorted set: worker children waiting on ``sync_wake()`` for the sync
    lane's next job, scored by when their wait ends (lanes/linger.py)."""
    return f"{PREFIX}:lingering"


def sync_wake() -> str:
    """List: one entry per sync job queued while a child lingered; the
    lingering children block on it."""
    return f"{PREFIX}:sync-wake"


def parked_sync_tokens() -> str:
    """List: the task messages (tokens) of sync jobs queued while a child
    lingered, kept from Celery for that child to spend; given to Celery's
    sync queue when no child lingers any more."""
    return f"{PREFIX}:sync-parked"


def token(token_id: str) -> str:
    """String: the job a task message (a "run the next job" token) claimed,
    so a redelivery of that message runs the same job again."""
    return f"{PREFIX}:token:{token_id}"


def held_tokens() -> str:
    """Counter: tokens spent claiming nothing while queued jobs were held by
    their project's maxConcurrent; a child ending a job takes one instead."""
    return f"{PREFIX}:held-tokens"
