"""Jobs taken in batches (``HOOKLET_TAKE_BATCH``), against a real
redis-server: one step takes several in the lanes' order and begins each
with its own deadline; outcomes held back are recorded with the next take;
a child that stops or dies holding jobs loses none of them, and only the job
it died under counts the attempt."""

from __future__ import annotations

import dataclasses
import functools
import os
import time

import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded
from flask.testing import FlaskClient

from app import services
from tests.support.fast import put_hook
from tests.support.stack import RedisServer
from workers.queue.batch import Batch
from workers.queue.child_watch import ChildWatch
from workers.queue.executor import Executor
from workers.queue.held import HeldJobs
from workers.queue.messages import run_task
from workers.queue.running_marker import RunningMarker, job_run_by
from workers.settings import Settings
from workers.store import keys
from workers.store.jobs.finish_step import finish_step
from workers.store.jobs.records import EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import JobStore
from workers.store.lanes.batched import Batched, Recording
from workers.store.lanes.lane import Lane, TakeFrom, Taken

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
SETTINGS = Settings()
DONE = Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200})
WORKER = "node/1"
Admin = dict[str, str]


@pytest.fixture
def db(own_redis: RedisServer) -> redis.Redis:
    client = own_redis.client()
    client.flushdb()  # each test starts from empty lanes
    return client


def take_from(latest_s: float = 600, worker: str = WORKER) -> TakeFrom:
    return TakeFrom(
        keys.celery_queue("scripts.sync"),
        keys.celery_queue("scripts"),
        "hooklet.run_script",
        worker,
        1000,
        time.time() + latest_s,
    )


def queue(store: JobStore, lane: Lane, timeout_ms: int = 1000) -> str:
    job_id = new_job_id()
    message = run_task(job_id, SETTINGS, lane)
    store.create(
        job_id, lane.hook_id, 1, EVENT, 0, message, extra={"timeoutMs": timeout_ms}, lane=lane
    )
    return job_id


def recording(job_id: str) -> Recording:
    return Recording(functools.partial(finish_step, 600, job_id, DONE, finished_at=time.time()))


def test_one_step_takes_several_jobs_in_the_lanes_order_each_begun(db: redis.Redis) -> None:
    store = JobStore(db, 600)
    a = [queue(store, Lane("a")) for _ in range(3)]
    b = queue(store, Lane("b"))
    s = queue(store, Lane.sync("s"))
    taken = Batched(db).take(take_from(), 4)
    # The sync lane first, then the hooks in turn, FIFO within each.
    assert [t.job_id for t in taken] == [s, a[0], b, a[1]]
    for t in taken:
        assert t.to_run and t.raw is not None
        assert db.hget(keys.job(t.job_id), "status") == JobStatus.RUNNING.value.encode()
        assert db.hget(keys.job(t.job_id), "worker") == WORKER.encode()
        assert db.hget(keys.job(t.job_id), "attempts") == b"1"
    # Each one's deadline counts from the end of the runs before it.
    deadlines = [db.zscore(keys.running(), t.job_id) for t in taken]
    assert all(x is not None for x in deadlines)
    assert deadlines == sorted(deadlines) and deadlines[3] - deadlines[0] > 5  # 3 × (1 s + 1 s)
    # Each spent its own token: one is left, for the job still queued.
    assert db.llen(keys.celery_queue("scripts")) == 1
    assert db.lrange(keys.pending("a"), 0, -1) == [a[2].encode()]


def test_a_take_stops_at_the_job_that_would_end_after_the_task_limit(db: redis.Redis) -> None:
    store = JobStore(db, 600)
    jobs = [queue(store, Lane("a"), timeout_ms=1000) for _ in range(4)]
    # Each job may run 1 s + 1 s of margin: two fit in 5 s, not three.
    taken = Batched(db).take(take_from(latest_s=5), 4)
    assert [t.job_id for t in taken] == jobs[:2]
    assert db.lrange(keys.pending("a"), 0, -1) == [j.encode() for j in jobs[2:]]


def test_outcomes_held_back_are_recorded_with_the_next_take(db: redis.Redis) -> None:
    store = JobStore(db, 600)
    jobs = [queue(store, Lane("a")) for _ in range(5)]
    batched = Batched(db)
    first = batched.take(take_from(), 2)
    recorded, taken = batched.record([recording(t.job_id) for t in first], take_from(), 2)
    assert recorded == [True, True]
    assert [t.job_id for t in taken] == jobs[2:4]
    assert [store.get(j)[b"status"] for j in jobs[:2]] == [b"succeeded"] * 2
    assert db.zscore(keys.running(), jobs[0]) is None
    # Recorded once: a second record of an ended job changes nothing.
    assert batched.record([recording(jobs[0])], None, 0) == ([False], [])
    # One job to take (in the same FINISH call); none left: none taken.
    recorded, last = batched.record([recording(taken[0].job_id)], take_from(), 1)
    assert recorded == [True] and [t.job_id for t in last] == [jobs[4]]
    assert store.get(jobs[4])[b"status"] == b"running"
    assert batched.record([recording(jobs[3])], take_from(), 1) == ([True], [])


def test_an_outcome_waits_only_while_jobs_are_held_and_it_may(db: redis.Redis) -> None:
    store = JobStore(db, 600)
    jobs = [queue(store, Lane("a")) for _ in range(3)]
    batch = Batch(take_from(), 10, time.monotonic() + 60, 2**40)
    held = HeldJobs(Batched(db), batch, per_take=3)
    ran = [held.next() for _ in range(2)]
    assert [h.job.job_id for h in ran if h] == jobs[:2]
    recorded: list[bool] = []
    held.record(recording(jobs[0]), recorded.append, can_wait=True)
    assert recorded == [] and store.get(jobs[0])[b"status"] == b"running"  # held back
    # One that may not wait (a sync job, a run with host calls) goes now,
    # with those held back before it, in the order they ended.
    held.record(recording(jobs[1]), recorded.append, can_wait=False)
    assert recorded == [True, True]
    assert [store.get(j)[b"status"] for j in jobs[:2]] == [b"succeeded"] * 2


def test_no_outcome_is_held_behind_a_run_that_could_outlast_its_jobs_reaping(
    db: redis.Redis,
) -> None:
    """A 1 s job's outcome held back while the 60 s job taken after it runs:
    the reaper would find the 1 s job overdue (its deadline is its take plus
    1 s and the margin), queue it again and another child would run it a
    second time (an ordered job's key then passes on during that run). So
    it is recorded before the long run starts; behind a run as short as its
    own it is still held."""
    store, grace_s = JobStore(db, 600), 2.0
    short, long_run = queue(store, Lane("a"), 1000), queue(store, Lane("b"), 60_000)
    short_again = queue(store, Lane("a"), 1000)
    batch = Batch(take_from(), 10, time.monotonic() + 60, 2**40)
    held = HeldJobs(Batched(db), batch, per_take=3, reaper_grace_s=grace_s)
    first = held.next()
    assert first is not None and [h.job.job_id for h in [first, *held.jobs]] == [
        short,
        long_run,
        short_again,
    ]
    recorded: list[bool] = []
    held.record(recording(short), recorded.append, can_wait=True)
    assert recorded == []  # held back while the next job is not yet started
    second = held.next()
    assert second is not None and second.job.job_id == long_run
    assert recorded == [True] and store.get(short)[b"status"] == b"succeeded"
    # What the reaper sees while the long run goes on: never the short job.
    reaper_sees_at = time.time() + 1 + 1 + grace_s + 1  # timeout, margin, grace, a second
    assert short not in store.overdue(reaper_sees_at)
    # The long run's outcome still waits behind a short run (it ends long before).
    held.record(recording(long_run), recorded.append, can_wait=True)
    assert held.next() is not None and recorded == [True]
    assert store.get(long_run)[b"status"] == b"running"


class CutShort(Batched):
    """Once ``cut``, its next record is stopped by a time limit before it
    reaches Redis (Celery raises SoftTimeLimitExceeded wherever the child is)."""

    cut = False

    def record(self, *args: object, **kwargs: object) -> tuple[list[bool], list[Taken]]:
        if self.cut:
            self.cut = False
            raise SoftTimeLimitExceeded()
        return super().record(*args, **kwargs)  # type: ignore[arg-type]


def test_outcomes_held_back_are_kept_when_a_time_limit_cuts_their_recording_short(
    db: redis.Redis,
) -> None:
    """The task's way out (``Executor._let_go``) records them; forgotten as
    the call began, they stayed running until the reaper ran them again."""
    store = JobStore(db, 600)
    jobs = [queue(store, Lane("a")) for _ in range(3)]
    batch = Batch(take_from(), 10, time.monotonic() + 60, 2**40)
    batched = CutShort(db)
    held = HeldJobs(batched, batch, per_take=3)
    assert [h.job.job_id for h in [held.next(), held.next()] if h] == jobs[:2]
    recorded: list[bool] = []
    batched.cut = True
    held.record(recording(jobs[0]), recorded.append, can_wait=True)
    with pytest.raises(SoftTimeLimitExceeded):
        held.record(recording(jobs[1]), recorded.append, can_wait=False)
    held.flush(take=False)  # on the task's way out
    assert recorded == [True, True]
    assert [store.get(j)[b"status"] for j in jobs[:2]] == [b"succeeded"] * 2


@pytest.fixture
def batching(fast_settings: Settings) -> Executor:
    executor = Executor(dataclasses.replace(fast_settings, take_batch=3))
    yield executor
    executor.pool.clear()


def submitted(client: FlaskClient, admin: Admin, hook_id: str, script: str) -> str:
    put_hook(client, admin, hook_id, script=script)
    with client.application.app_context():
        dispatcher = services.dispatcher()
    return dispatcher.submit(dispatcher.hooks.get(hook_id), EVENT).job_id


def only_these_jobs(executor: Executor) -> redis.Redis:
    db = redis.Redis.from_url(executor.settings.redis_url)
    # Only this test's jobs take turns (other tests leave jobs queued here).
    db.delete(keys.celery_queue("scripts"), keys.ready_hooks(), keys.ready_sync_hooks())
    return db


def test_a_backlog_taken_in_batches_runs_each_job_once(
    batching: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    db = only_these_jobs(batching)
    jobs = [submitted(client, admin, f"{hook_id}-{i % 2}", "({ body: 'ok' })") for i in range(7)]
    db.rpop(keys.celery_queue("scripts"))  # the first's own token: Celery's
    batch = batching.batch(WORKER, time.monotonic() + 30, time.time() + 600)
    ran = batching.run(jobs[0], WORKER, batch)
    assert ran is not None and ran.jobs == 7 and not ran.failures
    for job_id in jobs:
        job = client.get(f"/jobs/{job_id}").json
        assert (job["status"], job["attempts"]) == ("succeeded", 1)
        assert job["startedAt"] <= job["finishedAt"]
    assert db.zcard(keys.running()) == 0


def test_a_run_that_reached_outside_is_told_apart(
    batching: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    """Only a run with no fetch and no KV call may have its outcome held back."""
    kv = submitted(client, admin, hook_id, "(async () => { await secutils.kv.set('k', 'v'); })()")
    batching.run_job(kv, WORKER)
    assert batching.runner.last_run_reached_out == 1
    pure = submitted(client, admin, f"{hook_id}-pure", "({ body: 'ok' })")
    batching.run_job(pure, WORKER)
    assert batching.runner.last_run_reached_out == 0


def test_jobs_held_when_a_task_stops_early_are_queued_again_with_their_attempt(
    batching: Executor,
    client: FlaskClient,
    admin: Admin,
    hook_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = only_these_jobs(batching)
    jobs = [submitted(client, admin, hook_id, "({ body: 'ok' })") for _ in range(4)]
    db.rpop(keys.celery_queue("scripts"))
    real_run, runs = batching.runner.run, []

    def run(*args, **kwargs):
        runs.append(1)
        if len(runs) == 3:  # Celery's soft limit, in the middle of the held jobs
            raise SoftTimeLimitExceeded()
        return real_run(*args, **kwargs)

    monkeypatch.setattr(batching.runner, "run", run)
    batch = batching.batch(WORKER, time.monotonic() + 30, time.time() + 600)
    with pytest.raises(SoftTimeLimitExceeded):
        batching.run(jobs[0], WORKER, batch)
    status = [client.get(f"/jobs/{j}").json for j in jobs]
    # Ran and recorded (the second's outcome had been held back: it is recorded
    # on the way out); the third was cut (the reaper's, as before); the fourth
    # was held, never run: queued again now, its attempt given back.
    assert [s["status"] for s in status[:2]] == ["succeeded", "succeeded"]
    assert status[2]["status"] == "running"
    assert (status[3]["status"], status[3]["attempts"]) == ("queued", 0)
    assert db.lrange(keys.pending(hook_id), 0, -1) == [jobs[3].encode()]


def test_a_dead_child_held_jobs_come_back_and_only_its_last_run_counts(
    db: redis.Redis, own_redis: RedisServer
) -> None:
    from tests.support.stack import hooklet_env
    from workers.settings import load_settings

    settings = load_settings(hooklet_env(own_redis.url), max_attempts=3)
    store = JobStore(db, 600)
    jobs = [queue(store, Lane("a")) for _ in range(3)]
    dead = "node@host/4242"
    Batched(db).take(take_from(worker=dead), 3)
    marker = RunningMarker()
    marker.running(jobs[1])  # the child ran the first, then died under the second
    ran = job_run_by(os.getpid())
    assert ran == jobs[1] and job_run_by(os.getpid()) is None  # read once
    assert ChildWatch(settings, consumer=None).requeue_jobs_of(dead, ran=ran) == 3
    attempts = [store.get(j)[b"attempts"] for j in jobs]
    assert attempts == [b"0", b"1", b"0"]
    assert [store.get(j)[b"status"] for j in jobs] == [b"queued"] * 3
    # Without the child's word, each counts (the reaper's view: as before).
    db.flushdb()
    more = [queue(store, Lane("b")) for _ in range(2)]
    Batched(db).take(take_from(worker=dead), 2)
    assert ChildWatch(settings, consumer=None).requeue_jobs_of(dead) == 2
    assert [store.get(j)[b"attempts"] for j in more] == [b"1", b"1"]
