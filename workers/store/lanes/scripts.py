"""The Lua behind the lanes: which queued job a worker child runs next.

A queued job waits in its hook's list in one of two lanes: sync
(``keys.pending_sync(hook)``) or async (``keys.pending(hook)``), FIFO; each
lane has a rotation of the hooks with queued jobs (``keys.ready_sync_hooks()``,
``keys.ready_hooks()``: each hook once, exactly while its list is not empty).
A Celery task message carries no job: it is a token, "run the next job",
pushed with each job (to ``scripts.sync`` for the sync lane, ``scripts``
otherwise). Whoever takes a job looks at the sync lane first, then the async
one, and takes the oldest job of the hook at the head of that lane's
rotation, moving the hook to the back: hooks take turns, FIFO within a hook.

- ``CLAIM``: a Celery-delivered token claims the next job and is bound to it
  (``keys.token``), so a redelivery of the token (its child died) runs the
  same job again, as a per-job message would;
- ``take()``: a child that has run its task's job takes the next one itself
  and spends a token still waiting in a queue list (Celery's work spared);
  ``TAKE_MANY`` takes up to ``HOOKLET_TAKE_BATCH`` that way in one step.

Tokens never run out: each job brings one; an async job is taken only with
a token spent, and a sync job even without (its caller waits), which leaves
one over that later claims nothing (or a later job).
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.store.lua import lua_source

__all__ = [
    "TAKE",
    "CLAIM",
    "TakeKeys",
    "TakeArgs",
    "ClaimKeys",
    "ClaimArgs",
    "LINGER",
    "LingerKeys",
    "LingerArgs",
    "TAKE_MANY",
    "TakeManyArgs",
]


@dataclass(frozen=True)
class TakeKeys:
    sync_ready_key: str  # keys.ready_sync_hooks()
    ready_key: str  # keys.ready_hooks()
    sync_queue_key: str  # the sync lane's Celery queue list (its tokens)
    queue_key: str  # the async Celery queue list (its tokens)
    running_key: str


@dataclass(frozen=True)
class TakeArgs:
    """Also the first fields of ``FinishArgs`` and ``ClaimArgs`` ('' each when
    not taking)."""

    take_worker: str
    take_now: float | str
    take_margin_ms: int | str
    take_task: str  # the task name a token message carries
    take_job_prefix: str  # keys.job('')
    take_latest: float | str  # epoch s: a job whose hard deadline falls later is left
    take_pending_prefix: str  # keys.pending('')
    take_sync_prefix: str  # keys.pending_sync('')
    take_hook_prefix: str  # keys.hook('')
    take_token_prefix: str  # keys.token('')
    take_parked_key: str  # keys.parked_sync_tokens(): a sync job's token spent first
    take_project_prefix: str  # keys.project(''): a job's project's maxConcurrent (pick.lua)
    take_project_running_prefix: str  # keys.project_running('')
    take_held_key: str  # keys.held_tokens(): tokens owed for held jobs (pick.lua)


TAKE = lua_source(
    "lanes/take.lua", include=("lanes/begin.lua", "lanes/pick.lua", "lanes/take_next.lua")
)


@dataclass(frozen=True)
class TakeManyArgs(TakeArgs):
    take_count: int  # at most this many jobs


TAKE_MANY = lua_source(
    "lanes/take_batch.lua",
    include=(
        "lanes/begin.lua",
        "lanes/pick.lua",
        "lanes/take_next.lua",
        "lanes/take_many.lua",
    ),
)


@dataclass(frozen=True)
class ClaimKeys:
    token_key: str  # keys.token(token_id)
    sync_ready_key: str
    ready_key: str
    running_key: str


@dataclass(frozen=True)
class ClaimArgs(TakeArgs):
    token_id: str
    token_ttl_s: int


CLAIM = lua_source("lanes/claim.lua", include=("lanes/begin.lua", "lanes/pick.lua"))


@dataclass(frozen=True)
class LingerKeys(TakeKeys):
    lingering_key: str  # keys.lingering()
    wake_key: str  # keys.sync_wake()


@dataclass(frozen=True)
class LingerArgs(TakeArgs):
    and_take: str  # '1': take the next job; '': only stop lingering


LINGER = lua_source(
    "lanes/linger.lua",
    include=("lanes/begin.lua", "lanes/pick.lua", "lanes/take_next.lua", "lanes/parked.lua"),
)
