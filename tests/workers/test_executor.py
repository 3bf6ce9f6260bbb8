"""The executor's decisions, with the executor in the test process (V8
included) against the real redis-server: when a job runs, when it is given
up, and what is recorded with its end."""

from __future__ import annotations

import base64

import orjson
import pytest
import redis
from flask.testing import FlaskClient

from app import services
from tests.support.fast import put_hook
from workers.queue.executor import Executor
from workers.queue.names import CALLBACKS_QUEUE, DELIVER_CALLBACK
from workers.queue.retries import attempt_allowed
from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.jobs.records import EventRequest, JobStatus

Admin = dict[str, str]
WORKER = "tests/1"
EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")


@pytest.fixture
def db(fast_settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(fast_settings.redis_url)


def queued(client: FlaskClient, admin: Admin, hook_id: str, **hook: object) -> str:
    """A job accepted as the intake accepts one (task message queued), not yet
    begun. Submitted directly: the intake would wait for a sync hook's job."""
    put_hook(client, admin, hook_id, **{"script": "({ body: 'ran' })", **hook})
    with client.application.app_context():
        dispatcher = services.dispatcher()
    return dispatcher.submit(dispatcher.hooks.get(hook_id), EVENT).job_id


def job(client: FlaskClient, job_id: str) -> dict:
    return client.get(f"/jobs/{job_id}").json


def counter(db: redis.Redis, name: str, **labels: str) -> bytes | None:
    return db.hget(keys.metrics(), metrics.field(name, **labels))


@pytest.mark.parametrize(
    ("attempt", "max_attempts", "allowed"),
    [(1, 3, True), (3, 3, True), (4, 3, False), (1, 1, True), (2, 1, False)],
)
def test_the_attempt_cap(attempt: int, max_attempts: int, allowed: bool) -> None:
    assert attempt_allowed(attempt, max_attempts) is allowed


def test_the_last_allowed_attempt_runs(
    executor: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    job_id = queued(client, admin, hook_id)
    for _ in range(executor.settings.max_attempts - 1):  # children that died under it
        executor.jobs.start(job_id, "tests/died", 0)
    assert executor.run_job(job_id, WORKER).status is JobStatus.SUCCEEDED
    ran = job(client, job_id)
    assert ran["attempts"] == executor.settings.max_attempts
    assert ran["result"]["body"] == "ran" and ran["worker"] == WORKER


def test_a_job_begun_past_the_cap_fails_crashed_without_running(
    executor: Executor, client: FlaskClient, admin: Admin, db: redis.Redis, hook_id: str
) -> None:
    job_id = queued(client, admin, hook_id)
    for _ in range(executor.settings.max_attempts):
        executor.jobs.start(job_id, "tests/died", 0)
    assert executor.run_job(job_id, WORKER).status is JobStatus.FAILED
    failed = job(client, job_id)
    assert (failed["status"], failed["reason"]) == ("failed", "crashed")
    assert failed["attempts"] == executor.settings.max_attempts + 1
    assert "died 3 times" in failed["error"] and failed["result"] is None
    assert counter(db, "script_terminations", hook=hook_id, reason="crashed") == b"1"
    assert counter(db, "script_duration_count", hook=hook_id) is None  # no script ran
    assert db.zscore(keys.running(), job_id) is None


def test_a_job_whose_hook_is_gone_fails_hook_gone(
    executor: Executor, client: FlaskClient, admin: Admin, db: redis.Redis, hook_id: str
) -> None:
    job_id = queued(client, admin, hook_id)
    assert client.delete(f"/api/hooks/{hook_id}", headers=admin).status_code == 204
    assert executor.run_job(job_id, WORKER).status is JobStatus.FAILED
    failed = job(client, job_id)
    assert (failed["status"], failed["reason"], failed["attempts"]) == ("failed", "hook_gone", 1)
    assert hook_id in failed["error"]
    assert counter(db, "script_terminations", hook=hook_id, reason="hook_gone") == b"1"
    assert counter(db, "script_duration_count", hook=hook_id) is None


def test_a_redelivered_job_that_ended_is_not_run_again(
    executor: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    job_id = queued(client, admin, hook_id, script="({ body: String(Math.random()) })")
    executor.run_job(job_id, WORKER)
    first = job(client, job_id)
    assert executor.run_job(job_id, "tests/2").status is JobStatus.SUCCEEDED
    assert job(client, job_id) == first  # same attempt count, result and worker


def test_a_job_that_expired_is_skipped(executor: Executor, db: redis.Redis) -> None:
    gone = "0" * 32
    assert executor.run_job(gone, WORKER).status is JobStatus.FAILED
    assert not db.exists(keys.job(gone)) and db.zscore(keys.running(), gone) is None


def callbacks_for(db: redis.Redis, job_id: str) -> list[dict]:
    """The deliver_callback task messages queued for ``job_id``."""
    messages = [orjson.loads(m) for m in db.lrange(keys.celery_queue(CALLBACKS_QUEUE), 0, -1)]
    return [
        m
        for m in messages
        if m["headers"]["task"] == DELIVER_CALLBACK
        and orjson.loads(base64.b64decode(m["body"]))[0] == [job_id]
    ]


@pytest.mark.parametrize(("mode", "queued_callbacks"), [("async", 1), ("sync", 0)])
def test_an_async_job_queues_its_callback_as_it_ends(
    executor: Executor,
    client: FlaskClient,
    admin: Admin,
    db: redis.Redis,
    hook_id: str,
    mode: str,
    queued_callbacks: int,
) -> None:
    # Sync hooks answer the request itself: no callback, even with a URL.
    job_id = queued(client, admin, hook_id, mode=mode, callbackUrl="http://127.0.0.1:9/cb")
    executor.run_job(job_id, WORKER)
    assert len(callbacks_for(db, job_id)) == queued_callbacks


def test_a_run_reports_every_failed_job_it_took_for_flower(
    executor: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    """A task that ran several queued jobs names each failed one (the task's
    ``JobsFailed``, Flower's FAILURE); the jobs' outcomes are recorded first."""
    import time

    from workers.errors import JobsFailed

    db_client = redis.Redis.from_url(executor.settings.redis_url)
    db_client.delete(keys.celery_queue("scripts"))
    # Only this test's jobs take turns (other tests leave jobs queued here).
    db_client.delete(keys.ready_hooks(), keys.ready_sync_hooks())
    failing = "throw new Error('no stock\\nat line 2')"
    first = queued(client, admin, hook_id, script=failing)
    second = queued(client, admin, hook_id, script=failing)
    put_hook(client, admin, f"{hook_id}-ok", script="({ body: 'fine' })")
    with client.application.app_context():
        dispatcher = services.dispatcher()
    third = dispatcher.submit(dispatcher.hooks.get(f"{hook_id}-ok"), EVENT).job_id
    db_client.rpop(keys.celery_queue("scripts"))  # the first's own message: Celery's
    batch = executor.batch(WORKER, time.monotonic() + 5, time.time() + 600)
    ran = executor.run(first, WORKER, batch)
    # The first's token claims it; then the hooks take turns: third, second.
    assert ran is not None and ran.status is JobStatus.FAILED and ran.jobs == 3
    assert [f[0] for f in ran.failures] == [first, second]
    assert all(f[1] == hook_id and f[2] == "error" for f in ran.failures)
    assert job(client, third)["status"] == "succeeded"
    message = str(JobsFailed.of(ran.failures, ran.jobs))
    assert message.startswith("2 of 3 jobs failed: ")
    assert f"job {first} (hook {hook_id}) error: Error: no stock" in message
    assert "at line 2" not in message
