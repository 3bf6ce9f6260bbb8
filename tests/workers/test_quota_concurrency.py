"""A project's ``maxConcurrent`` (issue 23 item 5), against a real
redis-server: a child taking the next job leaves queued the async jobs of a
project that already has that many running (its hook loses its turn, other
hooks keep theirs) and takes them once one has ended, by a later take or a
Celery-delivered token's claim. Before, the quota was stored and never
applied: every queued job was taken in turn."""

from __future__ import annotations

import orjson
import pytest

from tests.support.stack import RedisServer
from tests.workers.test_lanes import DONE, EVENT, SETTINGS, take_from
from workers.queue.messages import run_task
from workers.store import keys
from workers.store.access.projects import Project, ProjectStore
from workers.store.jobs.records import new_job_id
from workers.store.jobs.store import JobStore
from workers.store.lanes.lane import Lane


@pytest.fixture
def store(own_redis: RedisServer) -> JobStore:
    client = own_redis.client()
    client.flushdb()
    ProjectStore(client).create(Project("lim", "Limited", {"maxConcurrent": 2}))
    ProjectStore(client).create(Project("free", "Free", {"maxConcurrent": 100}))
    return JobStore(client, retention_s=600)


def queue(store: JobStore, hook: str, project: str, sync: bool = False) -> str:
    job_id = new_job_id()
    lane = Lane.sync(hook) if sync else Lane(hook)
    extra = {"timeoutMs": 1000, "project": project}
    store.create(
        job_id, hook, 1, EVENT, 0, run_task(job_id, SETTINGS, lane), extra=extra, lane=lane
    )
    return job_id


def take_all(store: JobStore) -> list[str]:
    order = []
    while (taken := store.take_queued(take_from())) is not None:
        order.append(taken.job_id)
    return order


def test_a_project_at_max_concurrent_waits_while_others_run(store: JobStore) -> None:
    lim = [queue(store, "l1", "lim") for _ in range(3)] + [queue(store, "l2", "lim")]
    other = [queue(store, "o1", "default") for _ in range(3)]
    free = [queue(store, "f1", "free")]
    # Turns l1 l2 o1 f1: l1 and l2 take lim's two places, then l1 is held.
    assert take_all(store) == [lim[0], lim[3], other[0], free[0], other[1], other[2]]
    client = store._redis  # noqa: SLF001 - the test looks at Redis itself
    assert client.llen(keys.pending("l1")) == 2
    assert client.zcard(keys.project_running("lim")) == 2

    store.finish(lim[0], DONE)  # one place free: lim's oldest waiting job runs
    assert take_all(store) == [lim[1]]
    store.finish(lim[3], DONE)
    assert take_all(store) == [lim[2]]


def test_held_jobs_are_taken_once_running_ones_end(store: JobStore) -> None:
    jobs = [queue(store, "l1", "lim") for _ in range(5)]
    assert take_all(store) == jobs[:2]
    done: list[str] = []
    for n in range(3):
        store.finish(jobs[n], DONE)
        # A Celery-delivered token (any id) claims the next job of lim now.
        claimed = store.claim(new_job_id(), take_from())
        assert claimed is not None
        done.append(claimed.job_id)
        assert store.claim(new_job_id(), take_from()) is None  # full again
    assert done == jobs[2:5]


def test_sync_jobs_are_counted_never_held(store: JobStore) -> None:
    held = [queue(store, "l1", "lim") for _ in range(2)]
    sync = [queue(store, "s1", "lim", sync=True) for _ in range(3)]
    assert take_all(store) == sync  # the caller waits: taken though lim is past 2
    assert store.take_queued(take_from()) is None  # the async ones wait
    for job in sync:
        store.finish(job, DONE)
    assert take_all(store) == held


def test_a_token_spent_on_held_jobs_comes_back_when_one_ends(store: JobStore) -> None:
    """Celery's tokens, delivered while lim is full, claim nothing; the end of
    lim's running job (taking nothing: its batch window is over) pushes one
    token back, so the held job runs without waiting for the reaper."""
    jobs = [queue(store, "l1", "lim") for _ in range(4)]  # lim: 2 at once
    client = store._redis  # noqa: SLF001 - the test plays Celery
    claims = []
    while (message := client.rpop(keys.celery_queue("scripts"))) is not None:
        token = orjson.loads(message)["headers"]["id"]
        claims.append(getattr(store.claim(token, take_from()), "job_id", None))
    assert claims == [jobs[0], jobs[1], None, None]
    pushed = ("scripts-test", b"token")
    finished = store.finish(jobs[0], DONE, owed_token=lambda: pushed)
    assert finished.recorded and finished.taken is None
    assert client.lrange("scripts-test", 0, -1) == [b"token"]
    claimed = store.claim(new_job_id(), take_from())  # what that token claims
    assert claimed is not None and claimed.job_id == jobs[2]
    store.finish(jobs[1], DONE)  # e.g. the reaper's: no token to push, none spent
    assert client.llen("scripts-test") == 1
