"""A failed event blocking its key (``onFailure: block``) is kept while it
blocks (issue 24, review): not expired by its hook's retention, not trimmed by
the memory budget nor the project's storedBytes, so a resume can still rerun
it; the resume (rerun or skip) gives it its retention back from then.
Against a real redis-server, with a hook retention of 1 s (the expiry is
Redis's own: the tests wait for it rather than set a clock)."""

from __future__ import annotations

import time

import redis
from flask import Flask
from flask.testing import FlaskClient

from app import services
from tests.support.fast import put_hook, send
from tests.support.stack import RedisServer
from workers.queue.names import RUN_SCRIPT
from workers.settings import Settings
from workers.store import keys
from workers.store.access.storage import ProjectStorage
from workers.store.budget import MemoryBudget
from workers.store.deliveries import DeliveryStore
from workers.store.jobs.index import IndexTrim
from workers.store.jobs.records import DeliveryStatus, EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.search import JobFilter, search
from workers.store.jobs.store import Created, Extras, JobStore, Lane, TakeFrom
from workers.store.ordering.store import OrderingStore

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
QUEUE = "test:queue"
OK = Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200})
FAILED = Outcome(JobStatus.FAILED, 1.0, [], error="boom")
RETENTION_S = 1  # the hook's retentionS
PAST_RETENTION_S = 1.6
SCRIPT = "(async () => ({ statusCode: 200 }))()"


def _create(store: JobStore, hook: str, takeover: str | None = None) -> str:
    job_id = new_job_id()
    also = Extras(order_key="k", order_block=True, order_takeover=takeover)
    created, _ = store.create(
        job_id, hook, 1, EVENT, 5, (QUEUE, job_id.encode()), also=also,
        retention_s=RETENTION_S, lane=Lane(hook, 100),
    )  # fmt: skip
    assert created is Created.OK
    return job_id


def _run(store: JobStore, job_id: str, outcome: Outcome, callback: bool = False) -> None:
    take = TakeFrom("test:sync", QUEUE, RUN_SCRIPT, "worker", 1000, time.time() + 60)
    assert store.claim(job_id, take) is not None
    push = (f"test:callbacks:{job_id}", b"m") if callback else None
    assert store.finish(job_id, outcome, then_push=push).recorded


def _blocked(client: redis.Redis, hook_id: str) -> tuple[JobStore, str, str]:
    """A key blocked by a failed job, with a later event waiting behind it."""
    client.flushdb()  # no other test's job in the rotation or the budget's index
    store = JobStore(client, retention_s=600)
    failed, waiting = _create(store, hook_id), _create(store, hook_id)
    _run(store, failed, FAILED)
    assert OrderingStore(client).holder(hook_id, "k") == (failed, True)
    return store, failed, waiting


def _trim_everything(client: redis.Redis, hook_id: str) -> None:
    """What the reaper and the intake do: expired index entries, the memory
    budget's oldest finished jobs, the project's storedBytes."""
    IndexTrim(client).trim([hook_id])
    MemoryBudget(client, Settings()).trim(10**6)
    ProjectStorage(client, full_ttl_s=60).trim_hook(hook_id, 10**6)


def _listed(client: redis.Redis, hook_id: str, status: str | None = None) -> list[str]:
    page = search(client, JobFilter(hook=hook_id, status=status), limit=100)
    return [job["jobId"] for job in page.jobs]


def test_a_blocking_failed_job_outlives_its_retention_and_every_trim_until_rerun(
    own_redis: RedisServer, hook_id: str
) -> None:
    client = own_redis.client()
    store, failed, waiting = _blocked(client, hook_id)
    assert client.pttl(keys.job(failed)) == -1  # no expiry while it blocks
    time.sleep(PAST_RETENTION_S)
    _trim_everything(client, hook_id)
    job = store.get(failed)
    assert job is not None and job[b"status"] == b"failed"
    assert failed in _listed(client, hook_id, "failed")
    assert failed in _listed(client, hook_id)
    [blocked], _ = OrderingStore(client).blocked(hook_id)
    assert blocked.blocked_by == failed

    # The resume's rerun (what POST .../resume without skip does) is accepted.
    rerun = _create(store, hook_id, takeover=failed)
    assert 0 < client.pttl(keys.job(failed)) <= RETENTION_S * 1000  # its retention, from now
    assert client.zscore(keys.finished(), failed) is not None  # the budget may trim it again
    _run(store, rerun, OK)
    assert client.lrange(keys.pending(hook_id), 0, -1) == [waiting.encode()]

    time.sleep(PAST_RETENTION_S)
    IndexTrim(client).trim([hook_id])
    assert store.get(failed) is None  # it expired normally after the resume
    assert failed not in _listed(client, hook_id, "failed")
    assert rerun not in _listed(client, hook_id)  # so did the rerun


def test_a_skip_gives_the_blocking_job_its_retention_back(
    own_redis: RedisServer, hook_id: str
) -> None:
    client = own_redis.client()
    store, failed, waiting = _blocked(client, hook_id)
    MemoryBudget(client, Settings()).trim(10**6)
    assert store.get(failed) is not None
    assert OrderingStore(client).resume_skipping(hook_id, "k") == (True, waiting)
    assert 0 < client.pttl(keys.job(failed)) <= RETENTION_S * 1000
    assert MemoryBudget(client, Settings()).trim(10**6) == 1  # trimmable again: it goes
    assert store.get(failed) is None and failed not in _listed(client, hook_id)


def test_a_blocking_jobs_delivered_callback_does_not_start_its_retention(
    own_redis: RedisServer, hook_id: str
) -> None:
    """The failed job's own callback ends while the key is blocked: the job
    stays kept; the resume gives it its retention."""
    client = own_redis.client()
    client.flushdb()
    store, deliveries = JobStore(client, retention_s=600), DeliveryStore(client, 600)
    failed = _create(store, hook_id)
    _run(store, failed, FAILED, callback=True)
    deliveries.record(failed, {"outcome": "succeeded"}, DeliveryStatus.SUCCEEDED, None)
    assert client.pttl(keys.job(failed)) == -1
    time.sleep(PAST_RETENTION_S)
    _trim_everything(client, hook_id)
    assert store.get(failed) is not None
    assert OrderingStore(client).resume_skipping(hook_id, "k") == (True, None)
    assert 0 < client.pttl(keys.job(failed)) <= RETENTION_S * 1000


def test_through_the_api_a_blocking_job_of_a_60_s_hook_has_no_expiry_until_resumed(
    flask_app: Flask, client: FlaskClient, admin: dict[str, str], hook_id: str
) -> None:
    """The shortest retention a hook can have (60 s): the failed job gets no
    expiry while it blocks, survives the reaper's and the project's trims, and
    the resume reruns it and gives it its 60 s from then."""
    put_hook(client, admin, hook_id, script=SCRIPT, retentionS=60,
             ordering={"key": "header:X-Customer", "onFailure": "block"})  # fmt: skip
    with flask_app.app_context():
        first, second = (send(client, hook_id, headers={"X-Customer": "42"}).json["jobId"]
                         for _ in range(2))  # fmt: skip
        jobs, rdb = services.dispatcher().jobs, services.dispatcher().redis
        raw, to_run = jobs.start(first, "test-worker", 1000)
        assert raw is not None and to_run
        assert jobs.finish(first, FAILED).recorded
        assert rdb.pttl(keys.job(first)) == -1
        assert rdb.zscore(keys.hook_jobs(hook_id), first) == float("inf")
        IndexTrim(rdb).trim([hook_id])
        ProjectStorage(rdb, full_ttl_s=60).trim_hook(hook_id, 1000)
    failed = client.get(f"/api/jobs?hook={hook_id}&status=failed", headers=admin).json
    assert [j["jobId"] for j in failed["jobs"]] == [first]
    rerun = client.post(f"/api/hooks/{hook_id}/keys/42/resume", headers=admin)
    assert rerun.status_code == 200, rerun.text
    assert client.get(f"/jobs/{rerun.json['rerunJobId']}").json["replayOf"] == first
    with flask_app.app_context():
        assert 55_000 < services.dispatcher().redis.pttl(keys.job(first)) <= 60_000
