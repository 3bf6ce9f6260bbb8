"""The job store's atomic steps, against a real redis-server."""

from __future__ import annotations

import time

from tests.support.stack import RedisServer
from workers.queue.messages import run_script_message, task_message
from workers.queue.names import RUN_SCRIPT
from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.job_records import EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs import JobStore, TakeFrom

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
SETTINGS = Settings()


def started_job(store: JobStore, hook_id: str) -> str:
    job_id = new_job_id()
    store.create(job_id, hook_id, 1, EVENT, 0, ("test:queue", b"message"))
    store.start(job_id, "worker", 1000)
    return job_id


def test_finish_records_job_callback_and_metrics_whatever_the_duration(
    redis_server: RedisServer, hook_id: str
) -> None:
    client = redis_server.client()
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


def test_a_job_finishes_once(redis_server: RedisServer, hook_id: str) -> None:
    client = redis_server.client()
    store = JobStore(client, retention_s=600)
    job_id = started_job(store, hook_id)
    first = Outcome(JobStatus.FAILED, 5.0, [], reason=None, error="first")
    later = Outcome(JobStatus.SUCCEEDED, 6.0, [], result={"statusCode": 200})
    assert store.finish(job_id, first).recorded
    assert not store.finish(job_id, later).recorded
    assert client.hget(keys.job(job_id), "error") == b"first"


def queued_job(store: JobStore, hook_id: str, queue: str) -> str:
    job_id = new_job_id()
    message = run_script_message(job_id, 1000, SETTINGS)
    store.create(job_id, hook_id, 1, EVENT, 0, (queue, message), extra={"timeoutMs": 1000})
    return job_id


def test_taking_begins_the_oldest_queued_job(redis_server: RedisServer, hook_id: str) -> None:
    client = redis_server.client()
    store = JobStore(client, retention_s=600)
    queue = f"test:scripts:{hook_id}"
    first, second = queued_job(store, hook_id, queue), queued_job(store, hook_id, queue)
    take = TakeFrom(queue, RUN_SCRIPT, "node/1", 1000, time.time() + 60)
    taken = store.take_queued(take)
    assert taken is not None and (taken.job_id, taken.to_run) == (first, True)
    assert taken.raw is not None and taken.raw[b"status"] == b"running"
    # Marked running with a deadline in the same step: the reaper covers it.
    assert client.zscore(keys.running(), first) is not None
    assert client.hget(keys.job(first), "attempts") == b"1"
    outcome = Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200})
    recorded, after = store.finish(first, outcome, take=take)
    assert recorded and after is not None and after.job_id == second
    assert client.hget(keys.job(first), "status") == b"succeeded"
    assert store.take_queued(take) is None  # the queue is empty
    assert client.llen(queue) == 0


def test_taking_leaves_other_messages_missing_jobs_and_jobs_that_do_not_fit(
    redis_server: RedisServer, hook_id: str
) -> None:
    client = redis_server.client()
    store = JobStore(client, retention_s=600)
    queue = f"test:scripts:{hook_id}"
    take = TakeFrom(queue, RUN_SCRIPT, "node/1", 1000, time.time() + 60)
    other = task_message("hooklet.deliver_callback", queue, ["x"], 1.0, 2.0)
    gone = queued_job(store, hook_id, queue)
    client.delete(keys.job(gone))
    # Each is left where it was, for Celery to deliver.
    for message in (other, client.lindex(queue, 0)):
        client.delete(queue)
        client.lpush(queue, message)
        assert store.take_queued(take) is None
        assert client.lrange(queue, 0, -1) == [message]
    client.delete(queue)
    # A job whose hard deadline (1 s timeout + 1 s margin) would fall after
    # what is left of the taking task's own limit.
    too_long = queued_job(store, hook_id, queue)
    assert store.take_queued(take._replace(latest_deadline=time.time() + 1.5)) is None
    assert client.hget(keys.job(too_long), "status") == b"queued"
    taken = store.take_queued(take._replace(latest_deadline=time.time() + 2.5))
    assert taken is not None and taken.job_id == too_long


def test_taking_a_job_that_ended_does_not_run_it(redis_server: RedisServer, hook_id: str) -> None:
    client = redis_server.client()
    store = JobStore(client, retention_s=600)
    queue = f"test:scripts:{hook_id}"
    ended = queued_job(store, hook_id, queue)
    client.hset(keys.job(ended), "status", "succeeded")
    taken = store.take_queued(TakeFrom(queue, RUN_SCRIPT, "node/1", 1000, time.time() + 60))
    assert taken is not None and (taken.job_id, taken.to_run) == (ended, False)
    assert client.zscore(keys.running(), ended) is None
    assert client.hget(keys.job(ended), "attempts") == b"0"
