"""The reaper, sweeping a real redis-server (a database of its own, emptied
for each test): overdue jobs are queued again with their task message in one
atomic step, failed ``crashed`` after the attempt cap, and claimed by one
node only."""

from __future__ import annotations

import base64
import time

import orjson
import pytest
import redis

from tests.support.stack import RedisServer, hooklet_env
from workers.hook_validation import validate_hook
from workers.queue.messages import run_task
from workers.queue.names import CALLBACKS_QUEUE, DELIVER_CALLBACK, RUN_SCRIPT, SCRIPTS_QUEUE
from workers.queue.reaper import Reaper
from workers.settings import Settings, load_settings
from workers.store import keys, metrics
from workers.store.hooks import HookStore
from workers.store.jobs.records import DeliveryStatus, EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import JobStore
from workers.store.lanes.lane import Lane

REAPER_DB = 2
EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
TIMEOUT_MS = 1000


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    url = f"redis://127.0.0.1:{redis_server.port}/{REAPER_DB}"
    redis.Redis.from_url(url).flushdb()
    return load_settings(hooklet_env(url), reaper_grace_s=0, max_attempts=3)


@pytest.fixture
def db(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url)


@pytest.fixture
def store(db: redis.Redis, settings: Settings) -> JobStore:
    return JobStore(db, settings.retention_s)


def accepted(store: JobStore, settings: Settings, hook_id: str) -> str:
    """A job written as the intake writes one, its task message queued."""
    job_id = new_job_id()
    lane = Lane(hook_id)
    message = run_task(job_id, settings, lane)
    store.create(job_id, hook_id, 1, EVENT, 0, message, extra={"timeoutMs": TIMEOUT_MS}, lane=lane)
    return job_id


def vanished(store: JobStore, db: redis.Redis, settings: Settings, hook_id: str, runs: int) -> str:
    """A job begun ``runs`` times by workers that vanished: its message was
    taken off the queue and its deadline has passed."""
    job_id = accepted(store, settings, hook_id)
    db.delete(keys.celery_queue(SCRIPTS_QUEUE))  # Celery handed it to the lost node
    for _ in range(runs):
        store.start(job_id, "lost-node/1", -TIMEOUT_MS - 2000)  # deadline: 2 s ago
    return job_id


def messages(db: redis.Redis, queue: str) -> list[tuple[str, list]]:
    """(task name, args) of each message in a Celery queue."""
    out = []
    for raw in db.lrange(keys.celery_queue(queue), 0, -1):
        message = orjson.loads(raw)
        args = orjson.loads(base64.b64decode(message["body"]))[0]
        out.append((message["headers"]["task"], args))
    return out


def test_an_overdue_job_is_queued_again_with_its_message(
    settings: Settings, db: redis.Redis, store: JobStore, hook_id: str
) -> None:
    job_id = vanished(store, db, settings, hook_id, runs=1)
    assert Reaper(settings).sweep() == 1
    assert db.hget(keys.job(job_id), "status") == JobStatus.QUEUED.value.encode()
    # Back at the end of its hook's turn, with a token (task message) of its own.
    [(task, [token, hook])] = messages(db, SCRIPTS_QUEUE)
    assert (task, hook) == (RUN_SCRIPT, hook_id) and token != job_id  # a fresh token id
    assert db.lrange(keys.pending(hook_id), 0, -1) == [job_id.encode()]
    assert db.zscore(keys.running(), job_id) is None
    # The next begin is the second attempt.
    raw, to_run = store.start(job_id, "node2/1", 0)
    assert to_run and raw[b"attempts"] == b"2"


def test_a_chore_redis_refuses_does_not_stop_the_reaping(
    settings: Settings, db: redis.Redis, store: JobStore, hook_id: str
) -> None:
    """Redis refuses the token top-up (here a key of the wrong type; at
    maxmemory, its LPUSH): the overdue job is still reaped in that sweep."""
    job_id = vanished(store, db, settings, hook_id, runs=1)
    db.set(keys.ready_sync_hooks(), "not a list")  # the top-up's LRANGE: WRONGTYPE
    assert Reaper(settings).sweep() == 1
    assert db.hget(keys.job(job_id), "status") == JobStatus.QUEUED.value.encode()


def test_the_requeue_step_leaves_an_ended_job_alone(
    settings: Settings, db: redis.Redis, store: JobStore, hook_id: str
) -> None:
    # Status and message change together or not at all: a job that ended just
    # before the reaper's requeue gets neither.
    job_id = vanished(store, db, settings, hook_id, runs=1)
    store.finish(job_id, Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200}))
    lane = Lane(hook_id)
    assert not store.requeue(job_id, run_task(job_id, settings, lane), lane)
    assert db.hget(keys.job(job_id), "status") == b"succeeded"
    assert messages(db, SCRIPTS_QUEUE) == []


def test_after_the_attempt_cap_the_job_fails_crashed(
    settings: Settings, db: redis.Redis, store: JobStore, hook_id: str
) -> None:
    definition = {"script": "null", "callbackUrl": "http://127.0.0.1:9/cb"}
    HookStore(db).put(validate_hook(hook_id, definition, settings))
    job_id = vanished(store, db, settings, hook_id, runs=settings.max_attempts)
    assert Reaper(settings).sweep() == 1
    job = store.get(job_id)
    assert (job[b"status"], job[b"reason"]) == (b"failed", b"crashed")
    assert b"vanished (3 attempts)" in job[b"error"]
    assert messages(db, SCRIPTS_QUEUE) == []
    # Its callback is queued with its end, as for any finished async job.
    assert messages(db, CALLBACKS_QUEUE) == [(DELIVER_CALLBACK, [job_id])]
    crashed = metrics.field("script_terminations", hook=hook_id, reason="crashed")
    assert db.hget(keys.metrics(), crashed) == b"1"


def test_another_nodes_claim_wins(
    settings: Settings,
    db: redis.Redis,
    store: JobStore,
    hook_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job_id = vanished(store, db, settings, hook_id, runs=1)
    mine, other = Reaper(settings), Reaper(settings)
    # Both nodes list the job as overdue; the other claims it first.
    listed = mine.jobs.overdue(time.time())
    assert listed == [job_id]
    monkeypatch.setattr(mine.jobs, "overdue", lambda now, limit=100: listed)
    assert other.sweep() == 1
    assert mine.sweep() == 0
    assert len(messages(db, SCRIPTS_QUEUE)) == 1  # queued once
    assert db.lrange(keys.pending(hook_id), 0, -1) == [job_id.encode()]


def test_jobs_not_yet_overdue_or_gone_are_not_requeued(
    settings: Settings, db: redis.Redis, store: JobStore, hook_id: str
) -> None:
    running = accepted(store, settings, hook_id)
    store.start(running, "node/1", 60_000)  # its deadline is a minute away
    expired = vanished(store, db, settings, hook_id, runs=1)
    store.delete(expired)
    db.delete(keys.celery_queue(SCRIPTS_QUEUE))
    assert Reaper(settings).sweep() == 0
    assert db.hget(keys.job(running), "status") == b"running"
    assert db.zscore(keys.running(), running) is not None
    assert db.zscore(keys.running(), expired) is None  # claimed and dropped
    assert messages(db, SCRIPTS_QUEUE) == []


def test_a_sweep_queues_the_callbacks_due_again(
    settings: Settings, db: redis.Redis, store: JobStore, hook_id: str
) -> None:
    job_id = accepted(store, settings, hook_id)
    reaper = Reaper(settings)
    reaper.deliveries.record(job_id, {"error": "HTTP 500"}, DeliveryStatus.PENDING, time.time() - 1)
    assert reaper.sweep() == 0
    assert messages(db, CALLBACKS_QUEUE) == [(DELIVER_CALLBACK, [job_id])]
    assert db.zcard(keys.callbacks_due()) == 0


def test_a_queued_job_without_a_token_gets_one(
    settings: Settings, db: redis.Redis, store: JobStore, hook_id: str
) -> None:
    """A job left waiting in its lane with no token in the queue (its token
    was spent elsewhere) is not left there until some other event comes."""
    job_id = accepted(store, settings, hook_id)
    db.delete(keys.celery_queue(SCRIPTS_QUEUE))  # its token is gone
    assert Reaper(settings).top_up_tokens() == 1
    assert [task for task, _ in messages(db, SCRIPTS_QUEUE)] == [RUN_SCRIPT]
    # While a token waits, nothing more is queued.
    assert Reaper(settings).top_up_tokens() == 0
    assert db.hget(keys.job(job_id), "status") == b"queued"
