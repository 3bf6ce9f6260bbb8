"""The arguments of FINISH (``jobs/finish.py``): one outcome, as
``JobStore.finish`` runs it, or several joined into one step by a worker
child (``lanes/batched.py``)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from dataclasses import fields
from typing import Any, Literal, NamedTuple, overload

from workers.store import keys
from workers.store.jobs import answer
from workers.store.jobs import finish as finish_script
from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.jobs.records import JobStatus, Outcome
from workers.store.lanes.lane import TakeFrom, take_args, take_keys, take_prefixes
from workers.store.lua import LuaStep
from workers.store.metrics import encode_increment
from workers.store.ordering.scripts import order_args

__all__ = ["Part", "finish_constants", "finish_lua_step", "finish_shared", "finish_step"]

Step = tuple[finish_script.FinishKeys, finish_script.FinishArgs, list[Any]]


class Part(NamedTuple):
    """One outcome's part of a FINISH joined with others (``lanes/batched.py``):
    its TAIL values, and what the step's shared part takes from the last one."""

    retention_s: int
    child_rss: tuple[str, str] | None
    tail: list[Any]


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


# finish_step writes an outcome's OutcomeArgs values inline, in this order
# (no record built and read back per outcome): kept in step with the record.
_OUTCOME_ORDER = [
    "job_id", "failed", "push_key", "push_message", "answer_message", "owed_key",
    "owed_message", "counters_n", "fields_n",
]  # fmt: skip
if [f.name for f in fields(finish_script.OutcomeArgs)] != _OUTCOME_ORDER:
    raise RuntimeError("finish_step's outcome values are out of step with OutcomeArgs")


@functools.cache
def _shared_keys(take_queues: tuple[str, str] | None) -> finish_script.FinishKeys:
    """FINISH's KEYS: the same for every call of a process that takes from
    the same queues (``take_queues``: its sync and async queue lists)."""
    where = take_keys(None) if take_queues is None else take_keys(
        TakeFrom(take_queues[0], take_queues[1], "", "", 0, 0.0)
    )  # fmt: skip
    return finish_script.FinishKeys(
        running_key=keys.running(),
        metrics_key=keys.metrics(),
        child_rss_key=keys.child_rss(),
        take_sync_ready_key=where.sync_ready_key,
        take_ready_key=where.ready_key,
        take_sync_queue_key=where.sync_queue_key,
        take_queue_key=where.queue_key,
        finished_key=keys.finished(),
        **vars(IndexKeys.build()),
    )


@functools.cache
def _no_take_args() -> dict[str, Any]:
    """FINISH's ARGV when it takes nothing, but those of each call."""
    return {**vars(take_args(None)), **finish_constants()}  # the constants are not sent


def finish_shared(
    retention_s: int,
    child_rss: tuple[str, str] | None,
    take: TakeFrom | None,
    take_count: int,
    outcomes_n: int,
) -> tuple[finish_script.FinishKeys, finish_script.FinishArgs]:
    """FINISH's KEYS and ARGV records: what the outcomes of one step share
    (each outcome is in the TAIL: ``finish_step``), the child's RSS once, and
    where to take up to ``take_count`` jobs after them (``take`` None: none).
    Built once per step; what never changes in a process, once."""
    child, rss = child_rss or ("", "")
    if take is None:
        fixed = _no_take_args()
        take_count = 0
    else:
        fixed = {**vars(take_args(take)), **finish_constants()}
    return (
        _shared_keys(None if take is None else (take.sync_queue, take.queue)),
        finish_script.FinishArgs(
            **fixed,
            retention_s=retention_s,
            child=child,
            child_rss=rss,
            take_count=take_count,
            outcomes_n=outcomes_n,
        ),
    )


@overload
def finish_step(
    retention_s: int,
    job_id: str,
    outcome: Outcome,
    then_push: tuple[str, bytes] | None = ...,
    counters: Iterable[tuple[str, int | float]] = ...,
    child_rss: tuple[str, str] | None = ...,
    take: TakeFrom | None = ...,
    request_body: bytes | None = ...,
    answer_from: dict[bytes, bytes] | None = ...,
    owed: tuple[str, bytes] | None = ...,
    finished_at: float | None = ...,
    started_at: float | None = ...,
    alone: Literal[True] = ...,
) -> Step: ...


@overload
def finish_step(
    retention_s: int,
    job_id: str,
    outcome: Outcome,
    then_push: tuple[str, bytes] | None = ...,
    counters: Iterable[tuple[str, int | float]] = ...,
    child_rss: tuple[str, str] | None = ...,
    take: TakeFrom | None = ...,
    request_body: bytes | None = ...,
    answer_from: dict[bytes, bytes] | None = ...,
    owed: tuple[str, bytes] | None = ...,
    finished_at: float | None = ...,
    started_at: float | None = ...,
    *,
    alone: Literal[False],
) -> Part: ...


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
    owed: tuple[str, bytes] | None = None,
    finished_at: float | None = None,
    started_at: float | None = None,
    alone: bool = True,
) -> Step | Part:
    """One FINISH's (keys, args, tail) for ``JobStore.finish`` (its arguments;
    with ``take``, it takes one job after the outcome), or, ``alone`` False,
    one outcome's ``Part`` of several recorded in one step
    (``lanes/batched.py`` joins their tails and builds the shared part once):
    ``finished_at`` and ``started_at`` are then when the run ended and began,
    not when it is recorded or was taken. ``owed``: the token (queue list,
    message) FINISH pushes if one is owed to the held jobs of the job's
    project (``lanes/pick.lua``)."""
    push_key, message = then_push or ("", b"")
    owed_key, owed_message = owed or ("", b"")
    increments = [item for name, amount in counters for item in (name, encode_increment(amount))]
    failed = outcome.status is JobStatus.FAILED
    written = outcome.fields(
        finished_at or time.time(), delivery=bool(then_push), request_body=request_body
    )
    if started_at is not None:  # a job a child held before running it (lanes/take_many.lua)
        written["startedAt"] = started_at
    # The values of an OutcomeArgs record (finish.py), in its fields' order.
    tail = [
        job_id,
        "1" if failed else "",
        push_key,
        message,
        answer.message(job_id, written, answer_from),
        owed_key,
        owed_message,
        len(increments) // 2,
        len(written),
        *increments,
        *(item for pair in written.items() for item in pair),
    ]
    if not alone:
        return Part(retention_s, child_rss, tail)
    return (*finish_shared(retention_s, child_rss, take, 1, 1), tail)
