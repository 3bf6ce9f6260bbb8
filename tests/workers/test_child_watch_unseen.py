"""A node's watch on its children finds the jobs of children it never saw:
one born and killed between two looks (or before the first), or a child of
a node killed before this one started with its name. Real redis-server, a
real dead process; the watch's own thread with a stand-in for Celery's
consumer (its node name and the pool's pids)."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import redis

from tests.support.stack import RedisServer, hooklet_env, wait_until
from workers.queue import running_marker
from workers.queue.child_watch import ChildWatch
from workers.queue.messages import run_task
from workers.queue.names import SCRIPTS_QUEUE
from workers.settings import Settings, load_settings
from workers.store import keys
from workers.store.jobs.records import EventRequest, JobStatus, new_job_id
from workers.store.jobs.store import JobStore
from workers.store.lanes.lane import Lane

WATCH_DB = 4
NODE = "scripts@host"
EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    url = f"redis://127.0.0.1:{redis_server.port}/{WATCH_DB}"
    redis.Redis.from_url(url).flushdb()
    return load_settings(hooklet_env(url), max_attempts=3)


@pytest.fixture
def db(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url)


def dead_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def consumer(pids: set[int]) -> SimpleNamespace:
    """What the watch reads of Celery's consumer: its node name, the pool's pids."""
    pool = SimpleNamespace(info={"processes": sorted(pids)})
    return SimpleNamespace(hostname=NODE, controller=SimpleNamespace(pool=pool))


def running(settings: Settings, db: redis.Redis, hook_id: str, by: str) -> str:
    """A job a child took off its lane and began; its deadline is a minute
    away, so only the watch brings it back this soon."""
    store = JobStore(db, settings.retention_s)
    job_id, lane = new_job_id(), Lane(hook_id)
    message = run_task(job_id, settings, lane)
    store.create(job_id, hook_id, 1, EVENT, 0, message, extra={"timeoutMs": 60_000}, lane=lane)
    db.delete(keys.celery_queue(SCRIPTS_QUEUE))
    store.start(job_id, by, 5000)
    return job_id


def status(db: redis.Redis, job_id: str) -> str:
    return db.hget(keys.job(job_id), "status").decode()


def test_jobs_of_a_child_the_watch_never_saw_come_back_at_its_first_look(
    settings: Settings, db: redis.Redis, hook_id: str
) -> None:
    gone = dead_pid()
    lost = running(settings, db, hook_id, f"{NODE}/{gone}")
    # A live process this node's pool does not list yet (forked after the
    # pool was read), another node's dead child, and a child in the pool.
    young = running(settings, db, hook_id, f"{NODE}/{os.getpid()}")
    elsewhere = running(settings, db, hook_id, f"other@host/{gone}")
    in_pool = running(settings, db, hook_id, f"{NODE}/{gone + 1}")
    ChildWatch(settings, consumer({gone + 1})).start()
    wait_until(lambda: status(db, lost) == JobStatus.QUEUED.value, timeout_s=10)
    assert db.lrange(keys.pending(hook_id), 0, -1) == [lost.encode()]
    assert db.hget(keys.job(lost), "attempts") == b"1"  # counted: it died under it
    for job_id in (young, elsewhere, in_pool):
        assert status(db, job_id) == JobStatus.RUNNING.value


def test_only_the_job_a_dead_child_ran_counts_the_attempt(
    settings: Settings, db: redis.Redis, hook_id: str
) -> None:
    # The child held three jobs and said it ran the second (its marker,
    # written here under the dead pid's name as the child would have).
    gone = dead_pid()
    held = [running(settings, db, hook_id, f"{NODE}/{gone}") for _ in range(3)]
    _write_marker(gone, held[1])
    watch = ChildWatch(settings, consumer({gone + 1}))
    assert watch.requeue_jobs_of_dead_children({gone + 1}) == 3
    assert [db.hget(keys.job(j), "attempts") for j in held] == [b"0", b"1", b"0"]
    assert all(status(db, j) == JobStatus.QUEUED.value for j in held)


def _write_marker(pid: int, job_id: str) -> None:
    path = running_marker._path(pid)  # noqa: SLF001 - the dead child's marker file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(job_id)
