"""Lanes: where a queued job waits, and how a worker child takes the next one
(the Lua is in ``lanes/scripts.py``; ``JobStore`` runs it).

Sync jobs wait in the sync lane, taken before any async job; async jobs wait
in their hook's list, and hooks take turns. Task messages are tokens ("run
the next job"), so Celery's FIFO queue never decides which job runs next.
"""

from __future__ import annotations

import time
from dataclasses import fields, replace
from typing import Any, NamedTuple

from workers.store import keys
from workers.store.lanes import scripts as lua

__all__ = [
    "TEST_RUNS",
    "Lane",
    "TakeFrom",
    "Taken",
    "take_args",
    "take_prefixes",
    "take_keys",
    "taken",
    "taken_many",
    "begun",
    "queued_counts",
]


TEST_RUNS = "_test"  # the lane hook of test runs (never a hook id: not a slug)


class Lane(NamedTuple):
    """The lane a job joins when it is queued, and the hook it takes turns as."""

    hook_id: str
    max_queued: int | None = None  # refuse the job when the hook has this many queued
    is_sync: bool = False

    @classmethod
    def sync(cls, hook_id: str) -> Lane:
        return cls(hook_id or TEST_RUNS, None, True)

    @property
    def pending_key(self) -> str:
        return keys.pending_sync(self.hook_id) if self.is_sync else keys.pending(self.hook_id)

    @property
    def ready_key(self) -> str:
        return keys.ready_sync_hooks() if self.is_sync else keys.ready_hooks()

    @property
    def name(self) -> str:
        """The job's ``lane`` field: how the reaper queues it again."""
        return "sync" if self.is_sync else "async"


class TakeFrom(NamedTuple):
    """Where and as whom a worker child takes queued jobs."""

    sync_queue: str  # the sync lane's Celery queue list (its tokens)
    queue: str  # the async Celery queue list (its tokens)
    task: str  # the task name its token messages carry
    worker: str
    margin_ms: int  # the hard deadline's margin over the job's timeout
    latest_deadline: float  # epoch s: a job whose hard deadline falls later is left


class Taken(NamedTuple):
    """A job taken off its lane and begun; ``raw`` is None if it is gone."""

    job_id: str
    raw: dict[bytes, bytes] | None
    to_run: bool


def take_prefixes() -> dict[str, str]:
    """The ``TakeArgs`` that are the same for every take: key prefixes and keys."""
    return {
        "take_job_prefix": keys.job(""),
        "take_pending_prefix": keys.pending(""),
        "take_sync_prefix": keys.pending_sync(""),
        "take_hook_prefix": keys.hook(""),
        "take_token_prefix": keys.token(""),
        "take_parked_key": keys.parked_sync_tokens(),
        "take_project_prefix": keys.project(""),
        "take_project_running_prefix": keys.project_running(""),
        "take_held_key": keys.held_tokens(),
    }


def take_args(take: TakeFrom | None) -> lua.TakeArgs:
    if take is None:  # not taking; FINISH still reads a job's project (pick.lua)
        return replace(
            lua.TakeArgs(*[""] * len(fields(lua.TakeArgs))),
            take_job_prefix=keys.job(""),
            take_project_prefix=keys.project(""),
            take_project_running_prefix=keys.project_running(""),
            take_held_key=keys.held_tokens(),
        )
    return lua.TakeArgs(
        take_worker=take.worker,
        take_now=time.time(),
        take_margin_ms=take.margin_ms,
        take_task=take.task,
        take_latest=take.latest_deadline,
        **take_prefixes(),
    )


def take_keys(take: TakeFrom | None) -> lua.TakeKeys:
    if take is None:
        return lua.TakeKeys("", "", "", "", keys.running())
    return lua.TakeKeys(
        sync_ready_key=keys.ready_sync_hooks(),
        ready_key=keys.ready_hooks(),
        sync_queue_key=take.sync_queue,
        queue_key=take.queue,
        running_key=keys.running(),
    )


def begun(reply: list[Any]) -> tuple[dict[bytes, bytes] | None, bool]:
    """The job's fields and whether to run it, from the Lua ``begin()``'s
    reply: {} for a missing job, else {run?, field, value, ...}."""
    if not reply:
        return None, False  # expired or deleted
    return dict(zip(reply[1::2], reply[2::2], strict=True)), bool(reply[0])


def taken(reply: list[Any]) -> Taken | None:
    """From a take's or claim's reply: {} if nothing was taken, else {job id,
    begin()'s reply...}."""
    if not reply:
        return None
    return Taken(reply[0].decode(), *begun(reply[1:]))


def queued_counts(client: Any, hook_ids: list[str] | None = None) -> tuple[int, dict[str, int]]:
    """(jobs queued in the sync lane, {hook id: jobs queued in either lane}).
    Hooks with queued jobs are in the rotations; ``hook_ids`` adds others
    (their count may be 0), e.g. every stored hook for a gauge."""
    with client.pipeline(transaction=False) as pipe:
        pipe.lrange(keys.ready_sync_hooks(), 0, -1)
        pipe.lrange(keys.ready_hooks(), 0, -1)
        sync_ready, ready = pipe.execute()
    hooks = sorted({*(h.decode() for h in [*sync_ready, *ready]), *(hook_ids or [])})
    with client.pipeline(transaction=False) as pipe:
        for hook in hooks:
            pipe.llen(keys.pending_sync(hook))
            pipe.llen(keys.pending(hook))
        counts = pipe.execute()
    per_hook = {hook: counts[2 * i] + counts[2 * i + 1] for i, hook in enumerate(hooks)}
    return sum(counts[0::2]), {h: n for h, n in per_hook.items() if h != TEST_RUNS}


def taken_many(reply: list[Any]) -> list[Taken]:
    """From a ``TAKE_MANY`` reply: a list of take() replies, maybe empty."""
    return [job for job in map(taken, reply) if job is not None]
