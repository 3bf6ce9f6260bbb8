"""Redis full of work still to do, against a real redis-server: a flood the
intake let past its high-water mark (it reads memory a little late) can fill
Redis to ``maxmemory`` with queued jobs only, nothing finished to trim.
Workers must still record what they run, or no job would ever end, nothing
would become trimmable, and every accepted event would wait for good."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.payloads import github_push
from tests.support.stack import RedisServer
from tests.workers.test_finish_batch import recording
from tests.workers.test_take_batch import SETTINGS, take_from
from workers.queue.messages import run_task
from workers.store import keys, metrics
from workers.store.budget import MemoryBudget
from workers.store.jobs.finish_step import finish_step
from workers.store.jobs.records import EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.steps import Conditions
from workers.store.jobs.store import JobStore
from workers.store.lanes.batched import Batched, Recording
from workers.store.lanes.lane import Lane

HOOK = "h"  # the hook test_finish_batch.recording counts outcomes under
# 25 kB pushes with a real push's entropy: a few hundred fill 4 MB.
BODIES = [github_push(25_000, seed=seed) for seed in range(16)]


@pytest.fixture
def full_redis(tmp_path: Path) -> Iterator[redis.Redis]:
    server = RedisServer(tmp_path, maxmemory="4mb").start()
    yield server.client()
    server.stop()


def fill_with_queued_jobs(store: JobStore) -> list[str]:
    """Queue events until Redis itself refuses one (OOM): it is then full."""
    lane, queued = Lane(HOOK), []
    while True:
        job_id = new_job_id()
        event = EventRequest("POST", "/", "", {}, {}, "", BODIES[len(queued) % len(BODIES)])
        try:
            store.create(job_id, HOOK, 1, event, 0, run_task(job_id, SETTINGS, lane), lane=lane,
                         extra={"timeoutMs": 1000})  # fmt: skip
        except redis.exceptions.OutOfMemoryError:
            return queued
        queued.append(job_id)


def succeeded(client: redis.Redis) -> int:
    field = metrics.field("jobs_finished", hook=HOOK, status="succeeded")
    return int(client.hget(keys.metrics(), field) or 0)


def test_workers_drain_a_redis_full_of_queued_jobs_and_lose_none(
    full_redis: redis.Redis,
) -> None:
    budget = MemoryBudget(full_redis, SETTINGS)
    store = JobStore(full_redis, 600, budget=budget)
    batched = Batched(full_redis, budget)
    queued = fill_with_queued_jobs(store)
    assert queued and budget.finished_jobs() == 0  # nothing to trim
    ran: list[str] = []
    taken = batched.take(take_from(), 4)
    while taken:  # as a worker child does: outcomes recorded with the next take
        ids = [t.job_id for t in taken]
        recorded, taken = batched.record([recording(j) for j in ids], take_from(), 4)
        assert recorded == [True] * len(ids)  # refused, they would stay running
        ran += ids
    assert sorted(ran) == sorted(queued)
    assert succeeded(full_redis) == len(queued)
    assert full_redis.zcard(keys.running()) == 0
    for job_id in queued:  # succeeded, or trimmed once it had (to make room)
        assert full_redis.hget(keys.job(job_id), "status") in (None, b"succeeded")
    budget.enforce()
    assert not budget.pressure().over  # room again, for the next events


def test_a_single_finish_is_recorded_when_redis_is_full(full_redis: redis.Redis) -> None:
    """``JobStore.finish`` (a crashed job given up, ``run_job``) as well; the
    job recorded past the limit is trimmed at once, to be under it again."""
    budget = MemoryBudget(full_redis, SETTINGS)
    store = JobStore(full_redis, 600, budget=budget)
    fill_with_queued_jobs(store)
    (job,) = Batched(full_redis, budget).take(take_from(), 1)  # begun, as a child takes it
    outcome = Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200})
    counters = metrics.job_fields(HOOK, "succeeded", None, 0.001)
    assert store.finish(job.job_id, outcome, counters=counters).recorded
    assert succeeded(full_redis) == 1
    assert full_redis.hget(keys.job(job.job_id), "status") is None  # it ran, then was trimmed
    assert full_redis.zcard(keys.running()) == 0


def counted_fraction(client: redis.Redis) -> float:
    """Memory as Redis counts it toward maxmemory, as a share of it."""
    info = client.info("memory")
    used = int(info["used_memory"]) - int(info.get("mem_not_counted_for_evict", 0))
    return used / int(info["maxmemory"])


def test_outcomes_nothing_can_trim_never_take_redis_far_past_its_limit(
    full_redis: redis.Redis,
) -> None:
    """Each job's callback is still to send, so trimming frees nothing after a
    step run past maxmemory: run past it again and again, the backlog's
    outcomes took Redis to 2.5 times its limit (a replica or an AOF
    rewrite's fork follows it there). Past a small share, a worker's step is
    refused as at maxmemory."""
    budget = MemoryBudget(full_redis, SETTINGS)
    store = JobStore(full_redis, 600, budget=budget)
    batched = Batched(full_redis, budget)
    queued = fill_with_queued_jobs(store)
    result = {"statusCode": 200, "body": b"".join(BODIES)[:24_000]}
    outcome = Outcome(JobStatus.SUCCEEDED, 1.0, [], result=result)

    def with_callback(job_id: str) -> Recording:
        return Recording(
            functools.partial(
                finish_step,
                600,
                job_id,
                outcome,
                ("callbacks-test", b"c" * 800),
                metrics.job_fields(HOOK, "succeeded", None, 0.001),
                ("node/1", "1"),
            )  # fmt: skip
        )

    peak, refused = 0.0, None
    taken = batched.take(take_from(), 4)
    while taken and refused is None:
        try:
            recorded, taken = batched.record(
                [with_callback(t.job_id) for t in taken], take_from(), 4
            )
        except redis.exceptions.OutOfMemoryError as exc:
            refused = exc
        peak = max(peak, counted_fraction(full_redis))
    assert refused is not None and len(queued) > 40  # refused long before the backlog ran
    assert peak < 1.4  # the share past the limit (1 MB of 4) and the steps that crossed it
    # A crashed job given up (the reaper took it out of the running set
    # first) is recorded even so: refused, it would stay running for good.
    crashed = Outcome(JobStatus.FAILED, 0.0, [], error="the worker vanished")
    assert taken and store.finish(taken[0].job_id, crashed).recorded


def test_a_sync_event_taking_a_slot_is_refused_at_maxmemory_too(full_redis: redis.Redis) -> None:
    """Redis refuses a script at maxmemory only at its first write, and only
    if that write is one it refuses (not a delete): a sync event's CREATE
    first tidied its hook's slots (ZREMRANGEBYSCORE), so every one of them
    was written past maxmemory, however far. It is refused like any other
    (the intake answers 503 store_full)."""
    store = JobStore(full_redis, 600)
    fill_with_queued_jobs(store)
    lane, slots = Lane.sync("s"), Conditions(slot=(keys.in_flight("s"), 10**6, 30.0))
    accepted = 0
    for n in range(20):
        job_id = new_job_id()
        event = EventRequest("POST", "/", "", {}, {}, "", BODIES[n % len(BODIES)])
        try:
            store.create(job_id, "s", 1, event, 0, run_task(job_id, SETTINGS, lane), lane=lane,
                         conditions=slots)  # fmt: skip
            accepted += 1
        except redis.exceptions.OutOfMemoryError:
            pass
    assert accepted == 0
    assert full_redis.zcard(keys.in_flight("s")) == 0  # and no slot taken
