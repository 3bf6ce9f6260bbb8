"""Lanes, against a real redis-server: the sync lane first, hooks in turn,
FIFO within a hook, tokens that claim and re-claim, and the cap per hook."""

from __future__ import annotations

import time

import pytest

from tests.support.stack import RedisServer
from workers.queue.messages import run_task, task_message
from workers.queue.names import RUN_SCRIPT
from workers.settings import Settings
from workers.store import keys
from workers.store.jobs.records import EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import Created, JobStore
from workers.store.lanes.lane import Lane, TakeFrom

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
SETTINGS = Settings()
DONE = Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200})


@pytest.fixture
def store(own_redis: RedisServer) -> JobStore:
    client = own_redis.client()
    client.flushdb()  # each test starts from empty lanes
    return JobStore(client, retention_s=600)


def take_from(latest_s: float = 60) -> TakeFrom:
    return TakeFrom(
        keys.celery_queue("scripts.sync"),
        keys.celery_queue("scripts"),
        RUN_SCRIPT,
        "node/1",
        1000,
        time.time() + latest_s,
    )


def queue(store: JobStore, lane: Lane, timeout_ms: int = 1000) -> tuple[Created, str]:
    job_id = new_job_id()
    hook = lane.hook_id
    created, _ = store.create(
        job_id,
        hook,
        1,
        EVENT,
        0,
        run_task(job_id, SETTINGS, lane),
        extra={"timeoutMs": timeout_ms},
        lane=lane,
    )
    return created, job_id


def test_hooks_take_turns_fifo_within_each_and_the_sync_lane_first(store: JobStore) -> None:
    a = [queue(store, Lane("a"))[1] for _ in range(4)]
    b = [queue(store, Lane("b"))[1] for _ in range(2)]
    s = [queue(store, Lane.sync("s"))[1] for _ in range(3)]
    t = queue(store, Lane.sync("t"))[1]
    take = take_from()
    order = []
    while (taken := store.take_queued(take)) is not None:
        assert taken.to_run and taken.raw is not None and taken.raw[b"status"] == b"running"
        order.append(taken.job_id)
    # Sync hooks take turns too, before any async job.
    assert order == [s[0], t, s[1], s[2], a[0], b[0], a[1], b[1], a[2], a[3]]
    # Each take spent a token: nothing is left for Celery to deliver.
    client = store._redis  # noqa: SLF001 - the test looks at Redis itself
    assert client.llen("scripts") == 0 and client.llen("scripts.sync") == 0
    assert client.llen(keys.ready_hooks()) == 0 and client.llen(keys.ready_sync_hooks()) == 0


def test_a_token_claims_the_next_job_and_after_a_crash_the_same_one(store: JobStore) -> None:
    _, first = queue(store, Lane("a"))
    _, second = queue(store, Lane("a"))
    take = take_from()
    claimed = store.claim(second, take)  # any token: the hook's oldest job runs
    assert claimed is not None and claimed.job_id == first
    again = store.claim(second, take)  # redelivered: its child died
    assert again is not None and (again.job_id, again.to_run) == (first, True)
    assert again.raw is not None and again.raw[b"attempts"] == b"2"
    assert store.finish(first, DONE).recorded
    assert store.claim(second, take).job_id == second  # unbound now: the next job


def test_a_finished_job_unbinds_its_token(store: JobStore) -> None:
    _, job = queue(store, Lane("a"))
    claimed = store.claim(job, take_from())
    assert claimed is not None and claimed.job_id == job
    store.finish(job, DONE)
    client = store._redis  # noqa: SLF001
    assert client.exists(keys.token(job)) == 0
    _, later = queue(store, Lane("a"))
    # A late redelivery of the token is a token like any other.
    assert store.claim(job, take_from()).job_id == later


def test_taking_leaves_a_job_that_does_not_fit_and_other_messages(store: JobStore) -> None:
    client = store._redis  # noqa: SLF001
    _, job = queue(store, Lane("a"), timeout_ms=1000)
    # hard deadline: 1 s timeout + 1 s margin; the taking task has 1.5 s left
    assert store.take_queued(take_from(latest_s=1.5)) is None
    assert client.hget(keys.job(job), "status") == b"queued"
    token = client.rpop("scripts")
    other = task_message("hooklet.deliver_callback", "scripts", ["x"], 1.0, 2.0)
    client.lpush("scripts", other)
    # No token waits (Celery holds it): the async job is left for that token.
    assert store.take_queued(take_from(latest_s=2.5)) is None
    assert client.lrange("scripts", 0, -1) == [other]  # not a token: left alone
    client.rpush("scripts", token)  # where the next RPOP looks
    taken = store.take_queued(take_from(latest_s=2.5))
    assert taken is not None and taken.job_id == job
    assert client.lrange("scripts", 0, -1) == [other]


def test_a_sync_job_is_taken_even_while_celery_holds_its_token(store: JobStore) -> None:
    client = store._redis  # noqa: SLF001
    _, job = queue(store, Lane.sync("s"))
    client.delete("scripts.sync")  # its token was delivered to a busy node
    taken = store.take_queued(take_from())
    assert taken is not None and taken.job_id == job


def test_a_hook_at_its_cap_gets_nothing_stored(store: JobStore) -> None:
    client = store._redis  # noqa: SLF001
    for _ in range(3):
        assert queue(store, Lane("a", max_queued=3))[0] is Created.OK
    created, job = queue(store, Lane("a", max_queued=3))
    assert created is Created.QUEUE_FULL
    assert client.exists(keys.job(job)) == 0
    assert client.llen(keys.pending("a")) == 3 and client.llen("scripts") == 3
    assert queue(store, Lane("b", max_queued=3))[0] is Created.OK  # other hooks are not held


def test_the_reaper_puts_a_job_back_at_the_end_of_its_hooks_turn(store: JobStore) -> None:
    _, first = queue(store, Lane("a"))
    _, second = queue(store, Lane("a"))
    claimed = store.claim(first, take_from())
    assert claimed.job_id == first
    assert store.requeue(first, run_task(first, SETTINGS, Lane("a")), Lane("a"))
    assert store.get(first)[b"status"] == b"queued"
    take = take_from()
    assert [store.take_queued(take).job_id, store.take_queued(take).job_id] == [second, first]
    # The token that claimed it no longer runs it: the requeue brought its own.
    assert store.claim(first, take) is None


def test_a_take_leaves_a_requeued_token_to_rerun_its_job(store: JobStore) -> None:
    # A child died running the job its token claimed: Celery puts that token
    # back in the queue. A take elsewhere must not spend it as a free token,
    # or the job would wait for the reaper instead of running again now.
    client = store._redis  # noqa: SLF001
    _, crashed = queue(store, Lane("a"))
    token = client.rpop("scripts")  # Celery delivers it...
    assert store.claim(crashed, take_from()).job_id == crashed  # ...and it binds
    _, waiting = queue(store, Lane("b"))
    client.rpush("scripts", token)  # the dead child's token, back at the head
    assert store.take_queued(take_from()) is None  # b's token is behind it
    assert client.llen("scripts") == 2
    again = store.claim(crashed, take_from())  # its redelivery runs it again
    assert again is not None and (again.job_id, again.to_run) == (crashed, True)
    client.rpop("scripts")
    assert store.take_queued(take_from()).job_id == waiting


def test_a_take_reads_tokens_as_kombu_restores_them_and_leaves_an_eta(store: JobStore) -> None:
    """Issue 21 item 4: a take reads a token's task, eta and id without
    decoding it; kombu's JSON of a token it restored (a space after each
    colon) is a free token too, and one with an ETA is left alone."""
    import json

    client = store._redis  # noqa: SLF001
    _, job = queue(store, Lane("a"))
    token = json.loads(client.rpop("scripts"))
    later = {**token, "headers": {**token["headers"], "eta": "2099-01-01T00:00:00+00:00"}}
    client.rpush("scripts", json.dumps(later))
    assert store.take_queued(take_from()) is None  # not a token to spend now
    assert client.llen("scripts") == 1
    client.delete("scripts")
    client.rpush("scripts", json.dumps(token))  # as kombu writes it back
    taken = store.take_queued(take_from())
    assert taken is not None and taken.job_id == job
    assert client.llen("scripts") == 0
