"""A Redis stuck past its limit with callbacks due, against a real
redis-server: finished jobs whose callbacks are still to send cannot be
trimmed, and past the budget's share every worker's outcome is refused.
Only a delivery's end makes such a job trimmable, so recording it must never
be refused: refused, nothing ever ended, and the store stayed stuck
(callbacks retried for good, outcomes refused, jobs rerun until crashed)."""

from __future__ import annotations

import functools

import redis

from tests.workers.test_finish_batch import recording
from tests.workers.test_redis_full import (
    BODIES,
    HOOK,
    counted_fraction,
    fill_with_queued_jobs,
    full_redis,
)
from tests.workers.test_take_batch import SETTINGS, take_from
from workers.store import keys, metrics
from workers.store.budget import MemoryBudget
from workers.store.deliveries import DeliveryStore
from workers.store.jobs.finish_step import finish_step
from workers.store.jobs.records import DeliveryStatus, JobStatus, Outcome
from workers.store.jobs.store import JobStore
from workers.store.lanes.batched import Batched, Recording

__all__ = ["full_redis"]  # the fixture, shared with test_redis_full


def with_callback(job_id: str) -> Recording:
    """A succeeded outcome with a 24 kB result and its callback queued."""
    result = {"statusCode": 200, "body": b"".join(BODIES)[:24_000]}
    outcome = Outcome(JobStatus.SUCCEEDED, 1.0, [], result=result)
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


def trimmed(client: redis.Redis) -> int:
    return int(client.hget(keys.metrics(), metrics.field("jobs_trimmed")) or 0)


def test_recorded_deliveries_drain_a_redis_stuck_past_its_limit(full_redis: redis.Redis) -> None:
    budget = MemoryBudget(full_redis, SETTINGS)
    batched = Batched(full_redis, budget)
    fill_with_queued_jobs(JobStore(full_redis, 600, budget=budget))
    awaiting_callbacks: list[str] = []  # finished, their callbacks due: untrimmable
    taken, refused = batched.take(take_from(), 4), None
    while taken and refused is None:
        try:
            recorded, next_taken = batched.record(
                [with_callback(t.job_id) for t in taken], take_from(), 4
            )
        except redis.exceptions.OutOfMemoryError as exc:
            refused = exc
        else:
            awaiting_callbacks += [t.job_id for t, ok in zip(taken, recorded, strict=True) if ok]
            taken = next_taken
    assert refused is not None and taken  # stuck: these workers' outcomes are refused
    assert counted_fraction(full_redis) > 1.05 and awaiting_callbacks
    assert budget.trim() == 0  # nothing can go while its callback is due

    deliveries = DeliveryStore(full_redis, 600)  # as the callback worker builds it
    first, *rest = awaiting_callbacks
    # Old code: OutOfMemoryError (the record's first write is an HSET).
    assert deliveries.record(first, {"statusCode": 200}, DeliveryStatus.SUCCEEDED, None)
    assert not full_redis.exists(keys.job(first))  # its end made it trimmable: trimmed at once
    assert trimmed(full_redis) == 1
    for job_id in rest:  # every callback sent since: each outcome recorded
        assert deliveries.record(job_id, {"statusCode": 200}, DeliveryStatus.SUCCEEDED, None)
    budget.enforce()
    assert counted_fraction(full_redis) < 1.0  # room again (the rest is queued work)
    assert trimmed(full_redis) == len(awaiting_callbacks)
    assert full_redis.zcard(keys.callbacks_due()) == 0

    # The workers' outcomes are recorded again, as at any time.
    recorded, _ = batched.record([recording(t.job_id) for t in taken], take_from(), 0)
    assert recorded == [True] * len(taken)
    for t in taken:
        assert full_redis.hget(keys.job(t.job_id), "status") == b"succeeded"
