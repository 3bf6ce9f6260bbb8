"""The job store: one Redis hash per event's life, ``queued -> running -> done``.

Status changes go through ``JobStore`` only. A job's hash holds small scalar
fields plus JSON blobs (``request``, ``result``, ``logs``) and the raw request
body as bytes. The values a job is made of are in ``workers/job_records.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, NamedTuple

import orjson
import redis

from workers import job_scripts, keys
from workers.job_records import EventRequest, JobStatus, Outcome
from workers.metrics import encode_increment

__all__ = ["Created", "Conditions", "JobStore", "TakeFrom", "Taken"]


class Created(IntEnum):
    """What ``JobStore.create`` did."""

    HOOK_CHANGED = 0
    OK = 1
    SLOT_FULL = 2
    DUPLICATE = 3


@dataclass(frozen=True)
class Conditions:
    """What must hold for ``JobStore.create`` to write a job, checked in the
    same atomic call, in this order."""

    hook_etag: str | None = None  # the stored hook still has this etag
    idempotency_key: str | None = None  # a Redis key not yet bound to a job
    slot: tuple[str, int, float] | None = None  # (key, maximum, lapse s): one is taken
    duplicate_counter: str | None = None  # metrics field counting duplicates


def _now() -> float:
    return time.time()


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


def _begun(reply: list[Any]) -> tuple[dict[bytes, bytes] | None, bool]:
    """The job's fields and whether to run it, from the Lua ``begin()``'s
    reply: {} for a missing job, else {run?, field, value, ...}."""
    if not reply:
        return None, False  # expired or deleted
    return dict(zip(reply[1::2], reply[2::2], strict=True)), bool(reply[0])


def _taken(reply: list[Any]) -> Taken | None:
    """From the Lua ``take()``'s reply: {} if nothing was taken, else
    {job id, begin()'s reply...}."""
    if not reply:
        return None
    return Taken(reply[0].decode(), *_begun(reply[1:]))


class JobStore:
    def __init__(
        self, client: redis.Redis, retention_s: int, blocking: redis.Redis | None = None
    ) -> None:
        self._redis = client
        self._blocking = blocking or client
        self._retention_s = retention_s
        # Atomic "finish unless already final", so a reaper, a watchdog and a
        # late worker never overwrite each other's verdict.
        self._finish = client.register_script(job_scripts.FINISH)
        self._start = client.register_script(job_scripts.START)
        self._take = client.register_script(job_scripts.TAKE)
        self._create = client.register_script(job_scripts.CREATE)

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
    ) -> tuple[Created, str | None]:
        """Write the job, its history entry, its task message (list key, bytes)
        and the intake counter in one atomic Redis call: all of them or none.

        Nothing is written unless the ``conditions`` hold; an idempotency key
        is then bound to this job for the retention time. Returns what was
        done and, for a duplicate, the job id the key is bound to."""
        fields: dict[str, Any] = {
            "id": job_id,
            "hookId": hook_id,
            "version": version,
            "status": JobStatus.QUEUED.value,
            "attempts": 0,
            "createdAt": _now(),
            "request": request.meta_json(),
            "body": request.body,
            **(extra or {}),
        }
        queue, payload = message
        pairs = [item for pair in fields.items() for item in pair]
        slot_key, slot_max, slot_lapse_s = conditions.slot or ("", "", "")
        code, original = self._create(
            keys=[
                keys.job(job_id),
                keys.history(hook_id),
                queue,
                keys.metrics(),
                keys.hook(hook_id),
                slot_key,
                conditions.idempotency_key or "",
            ],
            args=[
                self._retention_s,
                history_size,
                job_id,
                payload,
                counter or "",
                conditions.hook_etag or "",
                slot_max,
                conditions.duplicate_counter or "",
                slot_lapse_s,
                *pairs,
            ],
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
            keys=[keys.job(job_id), keys.running()],
            args=[job_id, worker, time.time(), margin_ms],
        )
        return _begun(reply)

    def take_queued(self, take: TakeFrom) -> Taken | None:
        """Take the oldest message of ``take.queue`` (a Celery queue list) and
        begin its job, as ``start`` does, in one atomic step. Returns None,
        and leaves the message, when the queue is empty or the message is not
        ``take.task``'s, its job is not stored, or the job's hard deadline
        would fall after ``take.latest_deadline``."""
        reply = self._take(keys=[take.queue, keys.running()], args=self._take_args(take))
        return _taken(reply)

    @staticmethod
    def _take_args(take: TakeFrom) -> list[Any]:
        return [
            take.worker,
            time.time(),
            take.margin_ms,
            take.task,
            keys.job(""),
            take.latest_deadline,
        ]

    def finish(
        self,
        job_id: str,
        outcome: Outcome,
        then_push: tuple[str, bytes] | None = None,
        counters: Iterable[tuple[str, int | float]] = (),
        child_rss: tuple[str, str] | None = None,
    ) -> bool:
        """Record the outcome once; returns False if the job was already final.
        See ``finish_and_take``."""
        recorded, _ = self.finish_and_take(job_id, outcome, then_push, counters, child_rss)
        return recorded

    def finish_and_take(
        self,
        job_id: str,
        outcome: Outcome,
        then_push: tuple[str, bytes] | None = None,
        counters: Iterable[tuple[str, int | float]] = (),
        child_rss: tuple[str, str] | None = None,
        take: TakeFrom | None = None,
    ) -> tuple[bool, Taken | None]:
        """Record the outcome once; the flag is False if the job was already
        final.

        In the same atomic step, and only when the outcome is recorded:
        ``then_push`` (list key, message) is pushed, so the callback of an
        async hook is queued exactly when its job ends, or not at all; and the
        metric ``counters`` (field, amount) are added. ``child_rss`` (child,
        value) is stored either way. With ``take``, the same step then takes
        the next job as ``take_queued`` does, and returns it."""
        key = keys.job(job_id)
        fields: dict[str, Any] = {
            "status": outcome.status.value,
            "finishedAt": _now(),
            "durationMs": round(outcome.duration_ms, 3),
            "logs": orjson.dumps(outcome.logs),
        }
        if outcome.result is not None:
            result = dict(outcome.result)
            body = result.pop("body", b"")
            fields["result"] = orjson.dumps(result)
            fields["resultBody"] = body
        if outcome.reason is not None:
            fields["reason"] = outcome.reason.value
        if outcome.error is not None:
            fields["error"] = outcome.error
        if outcome.heap_used_bytes is not None:
            fields["heapUsedBytes"] = outcome.heap_used_bytes
        push_key, message = then_push or ("", b"")
        if then_push:
            fields["deliveryStatus"] = "pending"
        pairs = [item for pair in fields.items() for item in pair]
        increments = [
            item for name, amount in counters for item in (name, encode_increment(amount))
        ]
        child, rss = child_rss or ("", "")
        reply = self._finish(
            keys=[
                key,
                keys.running(),
                keys.job_done(job_id),
                push_key,
                keys.metrics(),
                keys.child_rss(),
                take.queue if take else "",
            ],
            args=[
                job_id,
                self._retention_s,
                message,
                child,
                rss,
                len(increments) // 2,
                *(self._take_args(take) if take else [""] * 6),
                *increments,
                *pairs,
            ],
        )
        return bool(reply[0]), _taken(reply[1:])

    def get(self, job_id: str) -> dict[bytes, bytes] | None:
        raw = self._redis.hgetall(keys.job(job_id))
        return raw or None

    def record_delivery(
        self, job_id: str, attempt: dict[str, Any], status: str, next_at: float | None
    ) -> None:
        """Append a callback attempt; ``status`` is pending, succeeded or failed."""
        key = keys.job(job_id)
        raw = self._redis.hget(key, "deliveries")
        attempts = orjson.loads(raw) if raw else []
        attempts.append(attempt)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"deliveries": orjson.dumps(attempts), "deliveryStatus": status})
            if next_at is None:
                pipe.hdel(key, "deliveryNextAt")
                pipe.zrem(keys.callbacks_due(), job_id)
            else:
                pipe.hset(key, "deliveryNextAt", next_at)
                pipe.zadd(keys.callbacks_due(), {job_id: next_at})
            pipe.execute()

    def delete(self, job_id: str) -> None:
        self._redis.delete(keys.job(job_id))

    def get_many(self, job_ids: list[str]) -> list[dict[bytes, bytes]]:
        with self._redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(keys.job(job_id))
            return [r for r in pipe.execute() if r]

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
        return raw or None

    def overdue(self, now: float, limit: int = 100) -> list[str]:
        ids = self._redis.zrangebyscore(keys.running(), "-inf", now, start=0, num=limit)
        return [i.decode() for i in ids]
