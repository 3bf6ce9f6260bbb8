"""The job store's atomic steps, against a real redis-server."""

from __future__ import annotations

import threading
import time

from tests.support.stack import RedisServer, wait_until
from workers.queue.names import RUN_SCRIPT
from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.jobs.records import EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import JobStore, TakeFrom

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
SETTINGS = Settings()


def started_job(store: JobStore, hook_id: str) -> str:
    """A job begun as a worker begins one: claimed by its task's token."""
    job_id = new_job_id()
    store.create(job_id, hook_id, 1, EVENT, 0, ("test:queue", b"message"))
    take = TakeFrom("test:sync", "test:queue", RUN_SCRIPT, "worker", 1000, time.time() + 60)
    claimed = store.claim(job_id, take)
    assert claimed is not None and claimed.job_id == job_id
    return job_id


def test_finish_records_job_callback_and_metrics_whatever_the_duration(
    own_redis: RedisServer, hook_id: str
) -> None:
    client = own_redis.client()
    store = JobStore(client, retention_s=600)
    callbacks = f"test:callbacks:{hook_id}"
    # A whole-number duration after a fractional one: the sum field then holds
    # a float, which HINCRBY would refuse.
    for duration_ms in (12.3, 30_000.0, 0.0):
        job_id = started_job(store, hook_id)
        outcome = Outcome(JobStatus.SUCCEEDED, duration_ms, [], result={"statusCode": 200})
        counters = metrics.job_fields(hook_id, "succeeded", None, duration_ms / 1000)
        assert store.finish(job_id, outcome, (callbacks, job_id.encode()), counters).recorded
        assert client.hget(keys.job(job_id), "status") == b"succeeded"
        # Nobody waits for it: no done list is made (and expired) for it.
        assert client.exists(keys.job_done(job_id)) == 0
        assert client.zscore(keys.running(), job_id) is None
    assert client.llen(callbacks) == 3
    sums = client.hget(keys.metrics(), metrics.field("script_duration_sum", hook=hook_id))
    assert abs(float(sums) - 30.0123) < 1e-6
    finished = metrics.field("jobs_finished", hook=hook_id, status="succeeded")
    assert client.hget(keys.metrics(), finished) == b"3"


def test_a_waiter_that_blocks_before_the_finish_is_woken_by_it(
    own_redis: RedisServer, hook_id: str
) -> None:
    """Issue 21: FINISH pushes a job's done list only when a waiter marked
    the job waited for; the waiter that marked it and blocks is woken, and
    one that comes after the finish does not block."""
    client = own_redis.client()
    store = JobStore(client, retention_s=600)
    job_id = started_job(store, hook_id)
    got: list[dict[bytes, bytes] | None] = []
    waiter = threading.Thread(target=lambda: got.append(store.wait(job_id, 60)))
    waiter.start()
    wait_until(lambda: client.exists(keys.job_waiting(job_id)) == 1, timeout_s=10, what="marked")
    outcome = Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200})
    assert store.finish(job_id, outcome).recorded
    waiter.join(30)
    assert not waiter.is_alive() and got and got[0] is not None
    assert got[0][b"status"] == b"succeeded"
    later = store.wait(job_id, 60)  # the job has ended: answered at once
    assert later is not None and later[b"status"] == b"succeeded"


def test_a_job_finishes_once(own_redis: RedisServer, hook_id: str) -> None:
    client = own_redis.client()
    store = JobStore(client, retention_s=600)
    job_id = started_job(store, hook_id)
    first = Outcome(JobStatus.FAILED, 5.0, [], reason=None, error="first")
    later = Outcome(JobStatus.SUCCEEDED, 6.0, [], result={"statusCode": 200})
    assert store.finish(job_id, first).recorded
    assert not store.finish(job_id, later).recorded
    assert client.hget(keys.job(job_id), "error") == b"first"
