"""The job store's atomic steps, against a real redis-server."""

from __future__ import annotations

import time

from tests.support.stack import RedisServer
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
        assert client.lrange(keys.job_done(job_id), 0, -1) == [b"1"]
        assert client.zscore(keys.running(), job_id) is None
    assert client.llen(callbacks) == 3
    sums = client.hget(keys.metrics(), metrics.field("script_duration_sum", hook=hook_id))
    assert abs(float(sums) - 30.0123) < 1e-6
    finished = metrics.field("jobs_finished", hook=hook_id, status="succeeded")
    assert client.hget(keys.metrics(), finished) == b"3"


def test_a_job_finishes_once(own_redis: RedisServer, hook_id: str) -> None:
    client = own_redis.client()
    store = JobStore(client, retention_s=600)
    job_id = started_job(store, hook_id)
    first = Outcome(JobStatus.FAILED, 5.0, [], reason=None, error="first")
    later = Outcome(JobStatus.SUCCEEDED, 6.0, [], result={"statusCode": 200})
    assert store.finish(job_id, first).recorded
    assert not store.finish(job_id, later).recorded
    assert client.hget(keys.job(job_id), "error") == b"first"
