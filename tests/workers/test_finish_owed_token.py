"""A token owed to a project's held jobs (``maxConcurrent``) is pushed by
FINISH itself, in the step that records the outcome and spends the owed
count: a write refused after that step (Redis at maxmemory, a connection
lost) can no longer lose it. Against a real redis-server."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import redis

from tests.support.stack import RedisServer
from tests.workers.test_finish_batch import DONE, queue, recording
from tests.workers.test_take_batch import SETTINGS, take_from
from workers.queue.messages import run_task
from workers.store import keys
from workers.store.access.projects import Project, ProjectStore
from workers.store.budget import is_oom
from workers.store.jobs.records import new_job_id
from workers.store.jobs.store import JobStore
from workers.store.lanes.batched import Batched, Recording
from workers.store.lanes.lane import Lane

SCRIPTS = keys.celery_queue("scripts")


class FullAfterEachScript(redis.Redis):
    """Redis reaches its maxmemory as each script call ends: any write sent
    after it, in the same step, is refused with OOM (as a busy Redis would)."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        reply = super().execute_command(*args, **options)
        if args[0] == "EVALSHA":
            super().execute_command("CONFIG SET", "maxmemory", "1")
        return reply


@pytest.fixture
def db(own_redis: RedisServer) -> redis.Redis:
    client = own_redis.client()
    client.flushdb()
    client.config_set("maxmemory-policy", "noeviction")
    return client


@pytest.fixture
def full_after_script(own_redis: RedisServer, db: redis.Redis) -> Any:
    client = FullAfterEachScript(port=own_redis.port)
    yield client
    db.config_set("maxmemory", 0)
    client.close()


def owed_token() -> tuple[str, bytes]:
    return run_task(new_job_id(), SETTINGS, Lane("l"))


def held_jobs(db: redis.Redis, store: JobStore, n: int) -> list[str]:
    """``n`` jobs of lim (2 at once); Celery's tokens claim the first two and
    are owed back for the others."""
    ProjectStore(db).create(Project("lim", "Limited", {"maxConcurrent": 2}))
    jobs = [queue(store, "l", project="lim") for _ in range(n)]
    assert claim_all(db, store) == [*jobs[:2], *[None] * (n - 2)]
    return jobs


def claim_all(db: redis.Redis, store: JobStore) -> list[str | None]:
    """What each token in the async queue claims, as Celery would deliver them."""
    claims = []
    while (message := db.rpop(SCRIPTS)) is not None:
        token = orjson.loads(message)["headers"]["id"]
        claims.append(getattr(store.claim(token, take_from()), "job_id", None))
    return claims


def test_a_finish_pushes_the_owed_token_in_its_own_step(
    db: redis.Redis, full_after_script: redis.Redis
) -> None:
    store = JobStore(db, 600)
    jobs = held_jobs(db, store, 3)
    # The old FINISH answered "owed" and the caller pushed the token after
    # it: refused here (OOM), the token was lost though FINISH had spent it.
    finished = JobStore(full_after_script, 600).finish(jobs[0], DONE, owed_token=owed_token)
    assert finished.recorded
    with pytest.raises(redis.ResponseError) as refused:
        full_after_script.set("after", "1")  # Redis is full indeed
    assert is_oom(refused.value)
    db.config_set("maxmemory", 0)
    assert claim_all(db, store) == [jobs[2]]  # the held job runs now, not at the reaper's


def test_a_batch_pushes_each_owed_token_with_its_outcome(
    db: redis.Redis, full_after_script: redis.Redis
) -> None:
    store = JobStore(db, 600)
    jobs = held_jobs(db, store, 4)
    batch = [Recording(recording(j).step, owed_token) for j in jobs[:2]]
    # No error either: the caller's bookkeeping of recorded outcomes runs.
    assert Batched(full_after_script).record(batch, None, 0) == ([True, True], [])
    db.config_set("maxmemory", 0)
    assert sorted(claim_all(db, store)) == sorted(jobs[2:])  # type: ignore[type-var]
