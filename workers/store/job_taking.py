"""Taking a queued job: where and as whom (``TakeFrom``), what was taken
(``Taken``), and reading the replies of the Lua ``begin()`` and ``take()``
(workers/store/job_scripts.py). Used by ``JobStore``, which re-exports the
records."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from workers.store import job_scripts as lua
from workers.store import keys

__all__ = ["TakeFrom", "Taken", "take_args", "begun", "taken_from"]


class TakeFrom(NamedTuple):
    """Where and as whom a worker child takes queued jobs (``take_queued``)."""

    queue: str  # a Celery queue list
    task: str  # the task name its messages must carry
    worker: str
    margin_ms: int  # the hard deadline's margin over the job's timeout
    latest_deadline: float  # epoch s: a job whose hard deadline falls later is left


class Taken(NamedTuple):
    """A job taken off the queue and begun; ``raw`` is None if it is gone."""

    job_id: str
    raw: dict[bytes, bytes] | None
    to_run: bool


def take_args(take: TakeFrom) -> lua.TakeArgs:
    return lua.TakeArgs(
        take_worker=take.worker,
        take_now=time.time(),
        take_margin_ms=take.margin_ms,
        take_task=take.task,
        take_job_prefix=keys.job(""),
        take_latest=take.latest_deadline,
        take_hook_prefix=keys.hook(""),
    )


def begun(reply: list[Any]) -> tuple[dict[bytes, bytes] | None, bool]:
    """The job's fields and whether to run it, from the Lua ``begin()``'s
    reply: {} for a missing job, else {run?, field, value, ...}."""
    if not reply:
        return None, False  # expired or deleted
    return dict(zip(reply[1::2], reply[2::2], strict=True)), bool(reply[0])


def taken_from(reply: list[Any]) -> Taken | None:
    """From the Lua ``take()``'s reply: {} if nothing was taken, else
    {job id, begin()'s reply...}."""
    if not reply:
        return None
    return Taken(reply[0].decode(), *begun(reply[1:]))
