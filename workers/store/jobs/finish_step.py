"""The arguments of FINISH (``jobs/finish.py``): one outcome, as
``JobStore.finish`` runs it, or several joined into one step by a worker
child (``lanes/batched.py``)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from typing import Any

from workers.store import keys
from workers.store.jobs import answer
from workers.store.jobs import finish as finish_script
from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.jobs.records import JobStatus, Outcome
from workers.store.lanes.lane import TakeFrom, take_args, take_keys, take_prefixes
from workers.store.lua import LuaStep, record_values
from workers.store.metrics import encode_increment
from workers.store.ordering.scripts import order_args

__all__ = ["finish_constants", "finish_lua_step", "finish_shared", "finish_step"]

Step = tuple[finish_script.FinishKeys, finish_script.FinishArgs, list[Any]]


@functools.cache
def finish_constants() -> dict[str, str]:
    """FINISH's ARGV that never change (key prefixes, channels, a status):
    written into its Lua once (``LuaStep``'s constants), not sent with every
    call (27 fewer arguments for Redis to parse, ~3 µs of its CPU per call)."""
    return {
        **take_prefixes(),
        **vars(HookIndexArgs.build()),
        **vars(order_args()),
        "token_prefix": keys.token(""),
        "done_prefix": keys.job_done(""),
        "waiting_prefix": keys.job_waiting(""),
        "done_channel": keys.sync_done_channel(),
        "answer_channel": keys.sync_answer_channel(),
        "inflight_prefix": keys.in_flight(""),
    }


def finish_lua_step(client: Any) -> LuaStep:
    """FINISH, registered on ``client`` (``JobStore.finish``, ``Batched``)."""
    return LuaStep(
        client,
        finish_script.FINISH,
        finish_script.FinishKeys,
        finish_script.FinishArgs,
        constants=finish_constants(),
    )


def finish_shared(
    retention_s: int,
    child_rss: tuple[str, str] | None,
    take: TakeFrom | None,
    take_count: int,
    outcomes_n: int,
) -> tuple[finish_script.FinishKeys, finish_script.FinishArgs]:
    """FINISH's KEYS and ARGV records: what the outcomes of one step share
    (each outcome is in the TAIL: ``finish_step``), the child's RSS once, and
    where to take up to ``take_count`` jobs after them (``take`` None: none)."""
    child, rss = child_rss or ("", "")
    where = take_keys(take)
    return (
        finish_script.FinishKeys(
            running_key=keys.running(),
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
            **{**vars(take_args(take)), **finish_constants()},  # the constants are not sent
            retention_s=retention_s,
            child=child,
            child_rss=rss,
            take_count=take_count if take is not None else 0,
            outcomes_n=outcomes_n,
        ),
    )


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
) -> Step:
    """One FINISH's (keys, args, tail) for ``JobStore.finish`` (its arguments;
    with ``take``, it takes one job after the outcome), or one outcome of
    several recorded in one step (``lanes/batched.py`` joins their tails):
    ``finished_at`` and ``started_at`` are then when the run ended and
    began, not when it is recorded or was taken."""
    push_key, message = then_push or ("", b"")
    increments = [item for name, amount in counters for item in (name, encode_increment(amount))]
    failed = outcome.status is JobStatus.FAILED
    written = outcome.fields(
        finished_at or time.time(), delivery=bool(then_push), request_body=request_body
    )
    if started_at is not None:  # a job a child held before running it (lanes/take_many.lua)
        written["startedAt"] = started_at
    record = finish_script.OutcomeArgs(
        job_id=job_id,
        failed="1" if failed else "",
        push_key=push_key,
        push_message=message,
        answer_message=answer.message(job_id, written, answer_from),
        return_owed="1" if owed else "",
        counters_n=len(increments) // 2,
        fields_n=len(written),
    )
    return (
        *finish_shared(retention_s, child_rss, take, 1, 1),
        [
            *record_values(record),
            *increments,
            *(item for pair in written.items() for item in pair),
        ],
    )
