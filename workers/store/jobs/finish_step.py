"""The arguments of one FINISH (``jobs/finish.py``): what ``JobStore.finish``
runs at once, and what a worker child records several of in one round trip
(``lanes/batched.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from workers.store import keys
from workers.store.jobs import answer
from workers.store.jobs import finish as finish_script
from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.jobs.records import JobStatus, Outcome
from workers.store.lanes.lane import TakeFrom, take_args, take_keys
from workers.store.metrics import encode_increment
from workers.store.ordering.scripts import order_args

__all__ = ["finish_step"]


def finish_step(
    retention_s: int,
    job_id: str,
    outcome: Outcome,
    then_push: tuple[str, bytes] | None = None,
    counters: Iterable[tuple[str, int | float]] = (),
    child_rss: tuple[str, str] | None = None,
    take: TakeFrom | None = None,
    request_body: bytes | None = None,
    answer_from: dict[bytes, bytes] | None = None,
    owed: bool = False,
    finished_at: float | None = None,
    started_at: float | None = None,
) -> tuple[finish_script.FinishKeys, finish_script.FinishArgs, list[Any]]:
    """FINISH's (keys, args, tail) for ``JobStore.finish`` (its arguments), or for
    several outcomes recorded in one round trip (``lanes/batched.py``):
    ``finished_at`` and ``started_at`` are then when the run ended and
    began, not when it is recorded or was taken."""
    push_key, message = then_push or ("", b"")
    increments = [item for name, amount in counters for item in (name, encode_increment(amount))]
    child, rss = child_rss or ("", "")
    where = take_keys(take)
    failed = outcome.status is JobStatus.FAILED
    written = outcome.fields(
        finished_at or time.time(), delivery=bool(then_push), request_body=request_body
    )
    if started_at is not None:  # a job a child held before running it (lanes/take_many.lua)
        written["startedAt"] = started_at
    answer_message = answer.message(job_id, written, answer_from)
    return (
        finish_script.FinishKeys(
            job_key=keys.job(job_id),
            running_key=keys.running(),
            done_key=keys.job_done(job_id),
            waiting_key=keys.job_waiting(job_id),
            push_key=push_key,
            metrics_key=keys.metrics(),
            child_rss_key=keys.child_rss(),
            take_sync_ready_key=where.sync_ready_key,
            take_ready_key=where.ready_key,
            take_sync_queue_key=where.sync_queue_key,
            take_queue_key=where.queue_key,
            finished_key=keys.finished(),
            **vars(IndexKeys.build()),
        ),
        finish_script.FinishArgs(
            **vars(take_args(take)),
            **vars(HookIndexArgs.build()),
            job_id=job_id,
            retention_s=retention_s,
            failed="1" if failed else "",
            push_message=message,
            child=child,
            child_rss=rss,
            counters_n=len(increments) // 2,
            token_prefix=keys.token(""),
            done_channel=keys.sync_done_channel(),
            answer_channel=keys.sync_answer_channel(),
            answer_message=answer_message,
            inflight_prefix=keys.in_flight(""),
            return_owed="1" if owed else "",
            **vars(order_args()),
        ),
        [
            *increments,
            *(item for pair in written.items() for item in pair),
        ],
    )
