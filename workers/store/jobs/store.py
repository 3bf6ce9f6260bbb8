"""The job store: one Redis hash per event's life, ``queued -> running -> done``.

Status changes go through ``JobStore`` only. A job's hash holds small scalar
fields plus JSON blobs (``request``, ``result``, ``logs``) and the raw request
body as bytes. The values a job is made of are in ``records.py``; each
atomic step's named KEYS/ARGV records are in ``scripts.py`` and
``finish.py``, its Lua in a ``.lua`` file beside them; what the steps take
and answer in ``steps.py``; reads in ``reads.py``; beginning a job (start,
claim, take) in ``starts.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import redis

from workers.store import keys
from workers.store.budget import MemoryBudget
from workers.store.jobs import scripts as lua
from workers.store.jobs.create import CreateStep
from workers.store.jobs.finish_step import finish_lua_step, finish_step
from workers.store.jobs.reads import JobReads
from workers.store.jobs.records import EventRequest, JobStatus, Outcome
from workers.store.jobs.starts import JobStarts
from workers.store.jobs.steps import Conditions, Created, Extras, Finished
from workers.store.jobs.writes import replicated, with_room
from workers.store.lanes import scripts as lane_scripts
from workers.store.lanes.lane import Lane, TakeFrom, Taken, taken
from workers.store.lua import LuaStep

__all__ = [
    "Created",
    "Conditions",
    "Extras",
    "Finished",
    "JobStore",
    "Lane",
    "TakeFrom",
    "Taken",
]

_NO_CONDITIONS = Conditions()
_NO_EXTRAS = Extras()


def _now() -> float:
    return time.time()


def _pairs(fields: dict[str, Any]) -> list[Any]:
    return [item for pair in fields.items() for item in pair]


class JobStore(JobStarts, JobReads):
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
        self._create = CreateStep(client)  # its fixed parts built once (jobs/create.py)
        self._start = LuaStep(client, lua.START, lua.BeginKeys, lua.StartArgs)
        self._take = LuaStep(
            client, lane_scripts.TAKE, lane_scripts.TakeKeys, lane_scripts.TakeArgs
        )
        self._claim = LuaStep(
            client, lane_scripts.CLAIM, lane_scripts.ClaimKeys, lane_scripts.ClaimArgs
        )
        # Atomic "finish unless already final", so a reaper, a watchdog and a
        # late worker never overwrite each other's verdict.
        self._finish = finish_lua_step(client)
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
        conditions: Conditions = _NO_CONDITIONS,
        also: Extras = _NO_EXTRAS,
        retention_s: int | None = None,
        lane: Lane | None = None,
    ) -> tuple[Created, str | None]:
        """Write the job, its history entry, its place in ``lane``, its task
        message (list key, bytes: a token) and the intake counter in one
        atomic Redis call: all of them or none.

        The job has no expiry until it ends: ``retention_s`` (default: the
        store's) counts from then (FINISH). Nothing is written unless the
        ``conditions`` hold; an idempotency key is then bound to this job as
        long as the job lives. ``also`` says what
        else to write (search indexes, replay link). Returns what was
        done and, for a duplicate, the job id the key is bound to; nothing is
        written either when ``lane`` (default: the sync lane) already holds
        ``lane.max_queued`` jobs. With ``replicas``, raises ``NotReplicated``
        unless they confirm it in time."""
        retention_s = retention_s or self._retention_s
        lane = lane or Lane.sync(hook_id)
        created_at = _now()
        fields: dict[str, Any] = {
            "id": job_id,  # the search and replay steps read it from the hash
            "hookId": hook_id,
            "version": version,
            "status": JobStatus.QUEUED.value,
            "attempts": 0,
            "createdAt": created_at,
            **request.fields(),
            "lane": lane.name,
            **(extra or {}),
        }
        if retention_s != self._retention_s:
            fields["retentionS"] = retention_s  # FINISH keeps the job this long
        order_id = keys.ordering_key_id(also.order_key) if also.order_key else ""
        if order_id:  # FINISH passes the key on (or blocks it) by these
            fields.update(orderKey=also.order_key, orderId=order_id)
            if also.order_block:
                fields["orderBlock"] = 1
        queue, payload = message
        slot_key, slot_max, slot_lapse_s = conditions.slot or ("", "", "")
        rate_key, per_minute = conditions.rate or ("", "")
        key_values, arg_values = self._create.values(
            lane,
            {
                "job_key": keys.job(job_id),
                "history_key": keys.history(hook_id),
                "queue_key": queue,
                "hook_key": keys.hook(hook_id),
                "slot_key": slot_key,
                "idempotency_key": conditions.idempotency_key or "",
                "replayed_key": keys.job(also.replay_of) if also.replay_of else "",
                "pending_key": lane.pending_key,
                "ready_key": lane.ready_key,
                "rate_key": rate_key,
                "store_full_key": conditions.store_full_key or "",
            },
            {
                "history_size": history_size,
                "job_id": job_id,
                "message": payload,
                "accepted_counter": counter or "",
                "hook_etag": conditions.hook_etag or "",
                "slot_max": slot_max,
                "slot_lapse_s": slot_lapse_s,
                "duplicate_counter": conditions.duplicate_counter or "",
                "fingerprint": conditions.fingerprint,
                "created_at": created_at,
                "lane_hook": lane.hook_id,
                "max_queued": "" if lane.max_queued is None else lane.max_queued,
                "hook_id": hook_id,
                "searchable": "1" if also.indexed else "",
                "events_per_minute": per_minute,
                "order_id": order_id,
                "order_key": also.order_key or "",
                "order_takeover": also.order_takeover or "",
            },
        )
        code, original = replicated(
            self._redis,
            self._replicas,
            self._create.send,
            key_values,
            arg_values,
            _pairs(fields),
        )
        return Created(code), original.decode() if original else None

    def finish(
        self,
        job_id: str,
        outcome: Outcome,
        then_push: tuple[str, bytes] | None = None,
        counters: Iterable[tuple[str, int | float]] = (),
        child_rss: tuple[str, str] | None = None,
        take: TakeFrom | None = None,
        request_body: bytes | None = None,
        answer_from: dict[bytes, bytes] | None = None,
        owed_token: Callable[[], tuple[str, bytes]] | None = None,
    ) -> Finished:
        """Record the outcome once (``recorded`` is False if the job had
        already ended).

        In the same atomic step, and only when the outcome is recorded:
        ``then_push`` (list key, message) is pushed, so the callback of an
        async hook is queued exactly when its job ends, or not at all; and the
        metric ``counters`` (field, amount) are added. ``child_rss`` (child,
        value) is stored either way. A failed event joins the dead letters
        (``keys.failed_jobs_index``) in the same step. With ``take``, the
        same step then takes the next job as ``take_queued`` does, and
        returns it. ``answer_from`` (the job's fields, given for a sync-lane
        job) sends the job's answer with the publish that says it ended
        (``jobs/answer.py``), so its waiter need not read it. ``owed_token``
        makes a token (queue list, message) that the same step pushes when it
        took no job but a token is owed for jobs held by this job's project's
        ``maxConcurrent`` (``lanes/pick.lua``): a held job runs now."""
        reply = with_room(
            self._budget,
            self._finish,
            *finish_step(
                self._retention_s,
                job_id,
                outcome,
                then_push,
                counters,
                child_rss,
                take,
                request_body,
                answer_from,
                owed_token() if owed_token is not None else None,
            ),
            capped=False,  # crashed jobs given up: the reaper took them out of the running set
        )
        (flag,), took = reply  # FINISH: {{0/1/2 (recorded, owed token pushed)}, {take() replies}}
        return Finished(flag > 0, taken(took[0]) if took else None)

    def requeue(
        self,
        job_id: str,
        message: tuple[str, bytes],
        lane: Lane,
        held_by: str = "",
        refund: bool = False,
    ) -> bool:
        """Queue a job that has not ended again (the reaper's step): its
        status, its place at the end of ``lane`` and a task message (list
        key, bytes) in one atomic call. False if the job is gone or has ended;
        with ``held_by`` (a worker child that died), also unless that child
        still holds it running (else someone else already requeued it).
        ``refund``: its attempt is given back (it was taken, never run)."""
        queue, payload = message
        return bool(
            self._requeue(
                lua.RequeueKeys(
                    keys.job(job_id), keys.running(), queue, lane.pending_key, lane.ready_key
                ),
                lua.RequeueArgs(
                    job_id=job_id,
                    message=payload,
                    lane_hook=lane.hook_id,
                    token_prefix=keys.token(""),
                    held_by=held_by,
                    refund="1" if refund else "",
                ),
            )
        )
