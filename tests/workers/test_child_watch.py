"""A node's watch on its children (``ChildWatch.requeue_jobs_of``), on a real
redis-server: a dead child's running jobs are queued again at once, only
those it still holds, once; past the attempt cap they fail ``crashed``."""

from __future__ import annotations

import pytest
import redis

from tests.support.stack import RedisServer, hooklet_env
from workers.hook_validation import validate_hook
from workers.queue.child_watch import ChildWatch
from workers.queue.messages import run_task
from workers.queue.names import CALLBACKS_QUEUE, SCRIPTS_QUEUE
from workers.queue.reaper import Reaper
from workers.settings import Settings, load_settings
from workers.store import keys
from workers.store.hooks import HookStore
from workers.store.jobs.records import EventRequest, JobStatus, new_job_id
from workers.store.jobs.store import JobStore
from workers.store.lanes.lane import Lane

WATCH_DB = 3
EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
DEAD, ALIVE = "node1@host/101", "node1@host/102"


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    url = f"redis://127.0.0.1:{redis_server.port}/{WATCH_DB}"
    redis.Redis.from_url(url).flushdb()
    return load_settings(hooklet_env(url), max_attempts=3)


@pytest.fixture
def db(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url)


@pytest.fixture
def store(db: redis.Redis, settings: Settings) -> JobStore:
    return JobStore(db, settings.retention_s)


def running(store: JobStore, settings: Settings, db: redis.Redis, hook_id: str, by: str) -> str:
    """A job a child took off its lane and began (its token spent)."""
    job_id, lane = new_job_id(), Lane(hook_id)
    message = run_task(job_id, settings, lane)
    store.create(job_id, hook_id, 1, EVENT, 0, message, extra={"timeoutMs": 60_000}, lane=lane)
    db.delete(keys.celery_queue(SCRIPTS_QUEUE))
    store.start(job_id, by, 5000)  # deadline a minute away: the reaper would wait
    return job_id


def test_a_dead_childs_job_is_queued_again_now(
    settings: Settings, db: redis.Redis, store: JobStore, hook_id: str
) -> None:
    dead = running(store, settings, db, hook_id, DEAD)
    alive = running(store, settings, db, hook_id, ALIVE)
    watch = ChildWatch(settings, consumer=None)
    assert watch.requeue_jobs_of(DEAD) == 1
    assert db.hget(keys.job(dead), "status") == JobStatus.QUEUED.value.encode()
    assert db.zscore(keys.running(), dead) is None
    assert db.lrange(keys.pending(hook_id), 0, -1) == [dead.encode()]
    assert db.llen(keys.celery_queue(SCRIPTS_QUEUE)) == 1  # a token of its own
    assert db.hget(keys.job(alive), "status") == JobStatus.RUNNING.value.encode()
    # Once: a second look (or the reaper's sweep later) finds nothing to do.
    assert watch.requeue_jobs_of(DEAD) == 0
    assert Reaper(settings).sweep() == 0
    assert db.llen(keys.celery_queue(SCRIPTS_QUEUE)) == 1


def test_a_job_begun_again_elsewhere_is_left_alone(
    settings: Settings, db: redis.Redis, store: JobStore, hook_id: str
) -> None:
    job_id = running(store, settings, db, hook_id, DEAD)
    # The task's message came back first and another child began the job.
    store.start(job_id, ALIVE, 5000)
    assert ChildWatch(settings, consumer=None).requeue_jobs_of(DEAD) == 0
    assert db.hget(keys.job(job_id), "worker") == ALIVE.encode()
    assert db.zscore(keys.running(), job_id) is not None


def test_past_the_attempt_cap_the_job_fails_crashed(
    settings: Settings, db: redis.Redis, store: JobStore, hook_id: str
) -> None:
    definition = {"script": "null", "callbackUrl": "http://127.0.0.1:9/cb"}
    HookStore(db).put(validate_hook(hook_id, definition, settings))
    job_id = running(store, settings, db, hook_id, DEAD)
    for _ in range(settings.max_attempts - 1):
        store.start(job_id, DEAD, 5000)
    assert ChildWatch(settings, consumer=None).requeue_jobs_of(DEAD) == 1
    job = store.get(job_id)
    assert (job[b"status"], job[b"reason"]) == (b"failed", b"crashed")
    assert b"died 3 times" in job[b"error"]
    assert db.llen(keys.celery_queue(SCRIPTS_QUEUE)) == 0
    assert db.llen(keys.celery_queue(CALLBACKS_QUEUE)) == 1  # its callback, as any end
