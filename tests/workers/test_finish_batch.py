"""A worker child's batch (issue 21): several outcomes and the next take in
ONE FINISH script call, each outcome recorded as its own FINISH would be
(once, in order, with its callback, indexes, ordering key and metrics).
Against a real redis-server."""

from __future__ import annotations

import functools
import time

import orjson
import pytest
import redis

from tests.support.stack import RedisServer
from tests.workers.test_take_batch import EVENT, SETTINGS, take_from
from workers.queue.messages import run_task
from workers.store import keys, metrics
from workers.store.access.projects import Project, ProjectStore
from workers.store.budget import is_oom
from workers.store.jobs.finish_step import finish_step
from workers.store.jobs.records import JobStatus, Outcome, new_job_id
from workers.store.jobs.store import Extras, JobStore
from workers.store.lanes.batched import Batched, Recording
from workers.store.lanes.lane import Lane

DONE = Outcome(JobStatus.SUCCEEDED, 250.0, [], result={"statusCode": 200})
BROKEN = Outcome(JobStatus.FAILED, 500.0, [], error="boom")


@pytest.fixture
def db(own_redis: RedisServer) -> redis.Redis:
    client = own_redis.client()
    client.flushdb()
    return client


def queue(
    store: JobStore, hook: str, order_key: str | None = None, project: str = "default"
) -> str:
    job_id = new_job_id()
    lane = Lane(hook)
    also = Extras(order_key=order_key)
    store.create(job_id, hook, 1, EVENT, 0, run_task(job_id, SETTINGS, lane), lane=lane,
                 extra={"timeoutMs": 1000, "project": project}, also=also)  # fmt: skip
    return job_id


def recording(job_id: str, outcome: Outcome = DONE, rss: str = "1") -> Recording:
    status = outcome.status.value
    counters = metrics.job_fields("h", status, None, outcome.duration_ms / 1000)
    return Recording(
        functools.partial(
            finish_step,
            600,
            job_id,
            outcome,
            None,
            counters,
            ("node/1", rss),
            finished_at=time.time(),
        )  # fmt: skip
    )


def evalsha_calls(db: redis.Redis) -> int:
    return int(db.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


def test_four_outcomes_and_the_next_take_are_one_script_call(db: redis.Redis) -> None:
    store, batched = JobStore(db, 600), Batched(db)
    jobs = [queue(store, "h") for _ in range(10)]
    held = batched.take(take_from(), 4)
    held = batched.record([recording(t.job_id) for t in held], take_from(), 4)[1]
    db.config_resetstat()  # the script is loaded now (the first call loaded it)
    recorded, taken = batched.record([recording(t.job_id) for t in held], take_from(), 4)
    assert evalsha_calls(db) == 1
    assert recorded == [True] * 4
    assert [store.get(j)[b"status"] for j in jobs[:8]] == [b"succeeded"] * 8
    assert [t.job_id for t in taken] == jobs[8:]
    assert all(store.get(j)[b"status"] == b"running" for j in jobs[8:])
    assert set(db.zrange(keys.running(), 0, -1)) == {j.encode() for j in jobs[8:]}
    # Each outcome's own retention and index moves, as a FINISH alone does.
    assert all(0 < db.ttl(keys.job(j)) <= 600 for j in jobs[:8])
    assert db.zcard(keys.finished()) == 8


def test_metrics_count_exactly_the_outcomes_recorded(db: redis.Redis) -> None:
    store, batched = JobStore(db, 600), Batched(db)
    jobs = [queue(store, "h") for _ in range(3)]
    batched.take(take_from(), 3)
    assert batched.record([recording(jobs[0])], None, 0) == ([True], [])
    # jobs[0] again (already ended: not counted twice), a failure, a success.
    batch = [recording(jobs[0]), recording(jobs[1], BROKEN), recording(jobs[2])]
    assert batched.record(batch, None, 0) == ([False, True, True], [])
    got = db.hgetall(keys.metrics())
    finished = metrics.field("jobs_finished", hook="h", status="succeeded")
    failed = metrics.field("jobs_finished", hook="h", status="failed")
    assert got[finished.encode()] == b"2" and got[failed.encode()] == b"1"
    total = float(got[metrics.field("script_duration_sum", hook="h").encode()])
    assert total == pytest.approx(0.25 + 0.5 + 0.25)
    # The failure alone joins the dead letters.
    assert db.zrange(keys.dead_letters_index(), 0, -1) == [jobs[1].encode()]


def test_the_childs_rss_is_written_once_per_batch_its_latest(db: redis.Redis) -> None:
    store, batched = JobStore(db, 600), Batched(db)
    jobs = [queue(store, "h") for _ in range(2)]
    batched.take(take_from(), 2)
    batched.record([recording(jobs[0], rss="100"), recording(jobs[1], rss="200")], None, 0)
    assert db.hget(keys.child_rss(), "node/1") == b"200"


def test_an_ordered_outcome_passes_its_key_before_the_take_in_the_same_call(
    db: redis.Redis,
) -> None:
    store, batched = JobStore(db, 600), Batched(db)
    first, other, second = queue(store, "h", "k"), queue(store, "h"), queue(store, "h", "k")
    held = batched.take(take_from(), 4)
    assert [t.job_id for t in held] == [first, other]  # second waits for its key
    recorded, taken = batched.record([recording(first), recording(other)], take_from(), 4)
    assert recorded == [True, True]
    assert [t.job_id for t in taken] == [second]  # released by first's outcome, then taken
    holder = db.hget(keys.ordering("h", keys.ordering_key_id("k")), "holder")
    assert holder == second.encode()


def test_a_lost_script_is_loaded_again_and_a_refusal_at_maxmemory_records_nothing(
    db: redis.Redis,
) -> None:
    store, batched = JobStore(db, 600), Batched(db)
    jobs = [queue(store, "h") for _ in range(3)]
    batched.take(take_from(), 3)
    db.script_flush()  # as after a restart or a failover
    assert batched.record([recording(jobs[0])], None, 0) == ([True], [])
    db.config_set("maxmemory", 1)
    try:
        with pytest.raises(redis.RedisError) as refused:
            batched.record([recording(j) for j in jobs[1:]], None, 0)
        # One with no child's RSS to write: its first write is a job's.
        with pytest.raises(redis.RedisError) as refused_alone:
            JobStore(db, 600).finish(jobs[1], DONE)
    finally:
        db.config_set("maxmemory", 0)
    # Told apart as Redis's refusal at maxmemory: room is made and it is retried.
    assert is_oom(refused.value) and is_oom(refused_alone.value)
    # Refused whole: neither outcome half-written, both recorded on the retry.
    assert [store.get(j)[b"status"] for j in jobs[1:]] == [b"running"] * 2
    assert batched.record([recording(j) for j in jobs[1:]], None, 0) == ([True, True], [])


def test_each_job_of_a_batch_says_its_hooks_first_version_read_once_per_hook(
    db: redis.Redis,
) -> None:
    store, batched = JobStore(db, 600), Batched(db)
    db.hset(keys.hook("h"), "since", "3")  # a stored hook; "gone" has no record
    jobs = [queue(store, "h"), queue(store, "gone"), queue(store, "h")]
    taken = {t.job_id: t.raw for t in batched.take(take_from(), 3)}
    assert [taken[j][b"hookSince"] for j in jobs] == [b"3", b"", b"3"]  # type: ignore[index]


def test_a_batch_pushes_one_token_per_outcome_owed_to_its_projects_held_jobs(
    db: redis.Redis,
) -> None:
    # lim runs 2 at a time: Celery's tokens claim two jobs and nothing more
    # (two tokens owed to its held jobs); each recorded outcome of lim frees a
    # run and is owed a token back, one already recorded is not.
    ProjectStore(db).create(Project("lim", "Limited", {"maxConcurrent": 2}))
    store, batched = JobStore(db, 600), Batched(db)
    jobs = [queue(store, "l", project="lim") for _ in range(4)]
    claims = []
    while (message := db.rpop(keys.celery_queue("scripts"))) is not None:
        token = orjson.loads(message)["headers"]["id"]
        claims.append(getattr(store.claim(token, take_from()), "job_id", None))
    assert claims == [jobs[0], jobs[1], None, None]

    def owing(job_id: str) -> Recording:
        return Recording(recording(job_id).step, lambda: ("scripts-test", job_id.encode()))

    batch = [owing(jobs[0]), owing(jobs[0]), owing(jobs[1])]
    assert batched.record(batch, None, 0) == ([True, False, True], [])
    pushed = [m.decode() for m in db.lrange("scripts-test", 0, -1)]
    assert sorted(pushed) == sorted(jobs[:2])


def test_an_outcome_that_errs_midway_is_counted_once_as_the_others(db: redis.Redis) -> None:
    """A Lua error is not rolled back: the outcome that errs stays final
    (later FINISHes skip it) with the writes before the error. It is counted
    all the same, and only once; the ones before it are recorded, the ones
    after it on the next call (a worker's way out records them again)."""
    store, batched = JobStore(db, 600), Batched(db)
    jobs = [queue(store, "h") for _ in range(3)]
    batched.take(take_from(), 3)
    # The second job's waiter's done list is no list: FINISH's RPUSH errs.
    db.set(keys.job_waiting(jobs[1]), "1")
    db.set(keys.job_done(jobs[1]), "not a list")
    with pytest.raises(redis.ResponseError):
        batched.record([recording(j) for j in jobs], None, 0)
    assert batched.record([recording(j) for j in jobs], None, 0) == ([False, False, True], [])
    assert [store.get(j)[b"status"] for j in jobs] == [b"succeeded"] * 3
    finished = metrics.field("jobs_finished", hook="h", status="succeeded")
    assert db.hget(keys.metrics(), finished) == b"3"
