"""The job store: one Redis hash per event's life, ``queued -> running -> done``.

Status changes go through ``JobStore`` only. A job's hash holds small scalar
fields plus JSON blobs (``request``, ``result``, ``logs``) and the raw request
body as bytes. The values a job is made of are in ``job_records.py``; the
Lua behind each atomic step is in ``job_scripts.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, NamedTuple

import redis

from workers.store import job_scripts as lua
from workers.store import keys
from workers.store.budget import MemoryBudget
from workers.store.job_records import EventRequest, JobStatus, Outcome
from workers.store.job_taking import TakeFrom, Taken, begun, take_args, taken_from
from workers.store.job_writes import replicated, with_id, with_room
from workers.store.lua import LuaStep
from workers.store.metrics import encode_increment
from workers.store.stats import TTL_S as STATS_TTL_S
from workers.store.stats import StatsWrite

__all__ = ["Created", "Conditions", "Extras", "Finished", "JobStore", "TakeFrom", "Taken"]


class Created(IntEnum):
    """What ``JobStore.create`` did."""

    HOOK_CHANGED = 0
    OK = 1
    SLOT_FULL = 2
    DUPLICATE = 3
    KEY_REUSED = 4  # the idempotency key is bound to a different request


@dataclass(frozen=True)
class Conditions:
    """What must hold for ``JobStore.create`` to write a job, checked in the
    same atomic call, in this order."""

    hook_etag: str | None = None  # the stored hook still has this etag
    idempotency_key: str | None = None  # a Redis key not yet bound to a job
    fingerprint: str = ""  # the request's: a duplicate must match it as well as the key
    slot: tuple[str, int, float] | None = None  # (key, maximum, lapse s): one is taken
    duplicate_counter: str | None = None  # metrics field counting duplicates


@dataclass(frozen=True)
class Extras:
    """What ``JobStore.create`` also writes beside the job, in the same call."""

    replay_of: str | None = None  # the job this one replays: it gets ``replayedBy``
    indexed: bool = True  # listed in the search indexes (not for test runs)
    stats: StatsWrite | None = None  # the console's stats for this event


def _now() -> float:
    return time.time()


def _pairs(fields: dict[str, Any]) -> list[Any]:
    return [item for pair in fields.items() for item in pair]


class Finished(NamedTuple):
    """What ``JobStore.finish`` did."""

    recorded: bool  # False: the job had already ended, nothing was written
    taken: Taken | None  # the next job, when ``take`` was given


class JobStore:
    def __init__(
        self,
        client: redis.Redis,
        retention_s: int,
        blocking: redis.Redis | None = None,
        budget: MemoryBudget | None = None,
        replicas: tuple[int, int] = (0, 0),
    ) -> None:
        self._redis = client
        self._blocking = blocking or client
        self._retention_s = retention_s
        self._budget = budget  # frees room when Redis refuses a finish with OOM
        self._replicas = replicas  # (replicas, timeout ms) a create WAITs for
        self._create = LuaStep(client, lua.CREATE, lua.CreateKeys, lua.CreateArgs)
        self._start = LuaStep(client, lua.START, lua.BeginKeys, lua.StartArgs)
        self._take = LuaStep(client, lua.TAKE, lua.TakeKeys, lua.TakeArgs)
        # Atomic "finish unless already final", so a reaper, a watchdog and a
        # late worker never overwrite each other's verdict.
        self._finish = LuaStep(client, lua.FINISH, lua.FinishKeys, lua.FinishArgs)
        self._requeue = LuaStep(client, lua.REQUEUE, lua.RequeueKeys, lua.RequeueArgs)

    def create(
        self,
        job_id: str,
        hook_id: str,
        version: int,
        request: EventRequest,
        history_size: int,
        message: tuple[str, bytes],
        counter: str | None = None,
        extra: dict[str, str | int | float] | None = None,
        conditions: Conditions = Conditions(),
        also: Extras = Extras(),
        retention_s: int | None = None,
    ) -> tuple[Created, str | None]:
        """Write the job, its history entry, its task message (list key, bytes)
        and the intake counter in one atomic Redis call: all of them or none.

        Nothing is written unless the ``conditions`` hold; an idempotency key
        is then bound to this job for the retention time. ``also`` says what
        else to write (search indexes, replay link, stats). Returns what was
        done and, for a duplicate, the job id the key is bound to. With
        ``replicas``, raises ``NotReplicated`` unless they confirm it in time."""
        retention_s = retention_s or self._retention_s
        created_at = _now()
        fields: dict[str, Any] = {
            "id": job_id,  # the search and replay steps read it from the hash
            "hookId": hook_id,
            "version": version,
            "status": JobStatus.QUEUED.value,
            "attempts": 0,
            "createdAt": created_at,
            **request.fields(),
            **(extra or {}),
        }
        if retention_s != self._retention_s:
            fields["retentionS"] = retention_s  # FINISH keeps the job this long
        queue, payload = message
        slot_key, slot_max, slot_lapse_s = conditions.slot or ("", "", "")
        hook_stats, fleet_stats = also.stats.keys if also.stats else ("", "")
        code, original = replicated(
            self._redis,
            self._replicas,
            self._create,
            lua.CreateKeys(
                job_key=keys.job(job_id),
                history_key=keys.history(hook_id),
                queue_key=queue,
                metrics_key=keys.metrics(),
                hook_key=keys.hook(hook_id),
                slot_key=slot_key,
                idempotency_key=conditions.idempotency_key or "",
                replayed_key=keys.job(also.replay_of) if also.replay_of else "",
                dead_key=keys.dead_letters_index(),
                hook_dead_key=keys.hook_dead_letters_index(hook_id),
                index_key=keys.jobs_index() if also.indexed else "",
                hook_index_key=keys.hook_jobs_index(hook_id) if also.indexed else "",
                hook_stats_key=hook_stats,
                fleet_stats_key=fleet_stats,
            ),
            lua.CreateArgs(
                retention_s=retention_s,
                history_size=history_size,
                job_id=job_id,
                message=payload,
                accepted_counter=counter or "",
                hook_etag=conditions.hook_etag or "",
                slot_max=slot_max,
                slot_lapse_s=slot_lapse_s,
                duplicate_counter=conditions.duplicate_counter or "",
                fingerprint=conditions.fingerprint,
                created_at=created_at,
                stats_ops=also.stats.encoded() if also.stats else "",
                stats_ttl_s=STATS_TTL_S,
            ),
            _pairs(fields),
        )
        return Created(code), original.decode() if original else None

    def start(
        self, job_id: str, worker: str, margin_ms: int
    ) -> tuple[dict[bytes, bytes] | None, bool]:
        """Begin an attempt in one atomic step, unless the job already ended
        (a redelivery): count it and mark the job running with a deadline (its
        ``timeoutMs`` plus ``margin_ms``). Returns the job's fields and whether
        it is to be run."""
        reply = self._start(
            lua.BeginKeys(job_key=keys.job(job_id), running_key=keys.running()),
            lua.StartArgs(job_id, worker, time.time(), margin_ms, hook_prefix=keys.hook("")),
        )
        return begun(reply)

    def take_queued(self, take: TakeFrom) -> Taken | None:
        """Take the oldest message of ``take.queue`` (a Celery queue list) and
        begin its job, as ``start`` does, in one atomic step. Returns None,
        and leaves the message, when the queue is empty or the message is not
        ``take.task``'s, its job is not stored, or the job's hard deadline
        would fall after ``take.latest_deadline``."""
        reply = self._take(
            lua.TakeKeys(queue_key=take.queue, running_key=keys.running()), take_args(take)
        )
        return taken_from(reply)

    def finish(
        self,
        job_id: str,
        outcome: Outcome,
        then_push: tuple[str, bytes] | None = None,
        counters: Iterable[tuple[str, int | float]] = (),
        child_rss: tuple[str, str] | None = None,
        take: TakeFrom | None = None,
        stats: StatsWrite | None = None,
        request_body: bytes | None = None,
    ) -> Finished:
        """Record the outcome once (``recorded`` is False if the job had
        already ended).

        In the same atomic step, and only when the outcome is recorded:
        ``then_push`` (list key, message) is pushed, so the callback of an
        async hook is queued exactly when its job ends, or not at all; and the
        metric ``counters`` (field, amount) are added. ``child_rss`` (child,
        value) is stored either way. A failed event joins the dead letters
        (``keys.failed_jobs_index``) and ``stats`` are added to this minute's
        buckets, in the same step. With ``take``, the same step then takes the
        next job as ``take_queued`` does, and returns it."""
        push_key, message = then_push or ("", b"")
        increments = [
            item for name, amount in counters for item in (name, encode_increment(amount))
        ]
        child, rss = child_rss or ("", "")
        taking = take_args(take) if take else lua.TakeArgs("", "", "", "", "", "", "")
        hook_stats, fleet_stats = stats.keys if stats else ("", "")
        failed = outcome.status is JobStatus.FAILED
        reply = with_room(
            self._budget,
            self._finish,
            lua.FinishKeys(
                job_key=keys.job(job_id),
                running_key=keys.running(),
                done_key=keys.job_done(job_id),
                push_key=push_key,
                metrics_key=keys.metrics(),
                child_rss_key=keys.child_rss(),
                take_queue_key=take.queue if take else "",
                failed_index_key=keys.failed_jobs_index() if failed else "",
                dead_index_key=keys.dead_letters_index(),
                hook_stats_key=hook_stats,
                fleet_stats_key=fleet_stats,
                finished_key=keys.finished(),
            ),
            lua.FinishArgs(
                **vars(taking),
                job_id=job_id,
                retention_s=self._retention_s,
                push_message=message,
                child=child,
                child_rss=rss,
                stats_ops=stats.encoded() if stats else "",
                stats_ttl_s=STATS_TTL_S,
                failed_hook_prefix=keys.hook_failed_index(""),
                dead_hook_prefix=keys.hook_dead_letters_index(""),
                counters_n=len(increments) // 2,
            ),
            [
                *increments,
                *_pairs(
                    outcome.fields(_now(), delivery=bool(then_push), request_body=request_body)
                ),
            ],
        )
        return Finished(bool(reply[0]), taken_from(reply[1:]))

    def requeue(self, job_id: str, message: tuple[str, bytes]) -> bool:
        """Queue a job that has not ended again (the reaper's step): its status
        and its task message (list key, bytes) in one atomic call. False if
        the job is gone or has ended."""
        queue, payload = message
        return bool(
            self._requeue(
                lua.RequeueKeys(keys.job(job_id), keys.running(), queue),
                lua.RequeueArgs(job_id=job_id, message=payload),
            )
        )

    def get(self, job_id: str) -> dict[bytes, bytes] | None:
        return with_id(job_id, self._redis.hgetall(keys.job(job_id)))

    def delete(self, job_id: str) -> None:
        self._redis.delete(keys.job(job_id))

    def get_many(self, job_ids: list[str]) -> list[dict[bytes, bytes]]:
        with self._redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(keys.job(job_id))
            found = [with_id(i, raw) for i, raw in zip(job_ids, pipe.execute(), strict=True)]
            return [raw for raw in found if raw]

    def leave_history(self, hook_id: str, job_id: str) -> None:
        """Take a job out of its hook's history (the script said skipRequest)."""
        self._redis.lrem(keys.history(hook_id), 1, job_id)

    def history_ids(self, hook_id: str) -> list[str]:
        return [i.decode() for i in self._redis.lrange(keys.history(hook_id), 0, -1)]

    def wait(
        self, job_id: str, timeout_s: float, also: Callable[[Any], None] | None = None
    ) -> dict[bytes, bytes] | None:
        """Block (no polling) until the job ends or the timeout passes, then
        return its fields (None if there is no such job). ``also`` may queue
        more commands on the pipeline that reads them (one round trip)."""
        got = None
        if timeout_s > 0:
            got = self._blocking.blpop([keys.job_done(job_id)], timeout=timeout_s)
        with self._redis.pipeline(transaction=False) as pipe:
            if got is not None:
                # Put the token back for any other waiter (e.g. a second poller).
                pipe.lpush(keys.job_done(job_id), b"1")
                pipe.expire(keys.job_done(job_id), 60)
            if also is not None:
                also(pipe)
            pipe.hgetall(keys.job(job_id))
            raw = pipe.execute()[-1]
        return with_id(job_id, raw)

    def overdue(self, now: float, limit: int = 100) -> list[str]:
        ids = self._redis.zrangebyscore(keys.running(), "-inf", now, start=0, num=limit)
        return [i.decode() for i in ids]
