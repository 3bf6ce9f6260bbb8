"""``/api/jobs``: search across hooks, bulk replay and redeliver, by ids and
by filter, with the bound and the dry run. Flask's test client over a real
redis-server; jobs are written and finished through the job store itself
(their task messages go to a list no worker reads)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from app import create_app
from tests.support.stack import ADMIN_TOKEN, RedisServer
from workers.settings import Settings
from workers.store import keys
from workers.store.deliveries import DeliveryStore
from workers.store.jobs.records import (
    DeliveryStatus,
    EventRequest,
    FailureReason,
    JobStatus,
    Outcome,
    new_job_id,
)
from workers.store.jobs.store import Extras, JobStore

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SCRIPT = "(async () => ({ body: 'ok' }))();"


@pytest.fixture(scope="module")
def redis_server(own_redis: RedisServer) -> RedisServer:
    """Not the session's server: its stack would take these made-up jobs."""
    return own_redis


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    return Settings(redis_url=redis_server.url, admin_token=ADMIN_TOKEN, bulk_max_jobs=5)


@pytest.fixture
def client(settings: Settings) -> Iterator[FlaskClient]:
    yield create_app(settings).test_client()


@pytest.fixture
def store(redis_server: RedisServer) -> JobStore:
    return JobStore(redis_server.client(), retention_s=3600)


def put_hook(client: FlaskClient, hook_id: str) -> None:
    answer = client.put(f"/api/hooks/{hook_id}", json={"script": SCRIPT}, headers=AUTH)
    assert answer.status_code in (200, 201), answer.json


def finished_job(store: JobStore, hook_id: str, status: JobStatus, **extra: str) -> str:
    job_id = new_job_id()
    event = EventRequest("POST", "/", "", {}, {}, "127.0.0.1", b'{"n": 1}')
    store.create(job_id, hook_id, 1, event, 30, (f"test:queue:{hook_id}", b"{}"), extra=extra)
    store.start(job_id, "node/1", 1000)
    if status is JobStatus.FAILED:
        outcome = Outcome(status, 3.0, [], reason=FailureReason.ERROR, error="Error: boom\n  at x")
    else:
        outcome = Outcome(status, 2.0, [], result={"statusCode": 200, "body": b"ok"})
    assert store.finish(job_id, outcome).recorded
    return job_id


def test_search_finds_jobs_newest_first_by_hook_status_and_reason(
    client: FlaskClient, store: JobStore
) -> None:
    hook_a, hook_b = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    ok_a = [finished_job(store, hook_a, JobStatus.SUCCEEDED) for _ in range(3)]
    bad_a = [finished_job(store, hook_a, JobStatus.FAILED) for _ in range(2)]
    bad_b = finished_job(store, hook_b, JobStatus.FAILED)

    found = client.get(f"/api/jobs?hook={hook_a}", headers=AUTH).json
    assert [j["jobId"] for j in found["jobs"]] == [*reversed(ok_a + bad_a)]
    assert found["nextCursor"] is None

    dead = client.get("/api/jobs?status=failed&reason=error&since=1h", headers=AUTH).json
    ids = [j["jobId"] for j in dead["jobs"]]
    assert ids[:3] == [bad_b, *reversed(bad_a)]  # across hooks, newest first
    assert dead["jobs"][0]["error"].startswith("Error: boom")
    assert "request" not in dead["jobs"][0]  # a page holds summaries, not bodies

    assert client.get(f"/api/jobs?hook={hook_b}&status=succeeded", headers=AUTH).json["jobs"] == []
    hook_failed = client.get(f"/api/jobs?hook={hook_a}&status=failed", headers=AUTH).json["jobs"]
    assert [j["jobId"] for j in hook_failed] == list(reversed(bad_a))
    future = client.get(f"/api/jobs?hook={hook_a}&since={time.time() + 60}", headers=AUTH)
    assert future.json["jobs"] == []


def test_search_pages_with_a_cursor(client: FlaskClient, store: JobStore) -> None:
    hook_id = f"p-{uuid.uuid4().hex[:8]}"
    made = [finished_job(store, hook_id, JobStatus.FAILED) for _ in range(5)]
    seen, cursor = [], None
    while True:
        query = f"/api/jobs?hook={hook_id}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=AUTH).json
        seen += [j["jobId"] for j in page["jobs"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))


def test_search_refuses_bad_filters_and_needs_the_token(client: FlaskClient) -> None:
    assert client.get("/api/jobs?status=lost", headers=AUTH).status_code == 400
    assert client.get("/api/jobs?since=yesterday-ish", headers=AUTH).status_code == 400
    assert client.get("/api/jobs").status_code == 401
    assert client.post("/api/jobs/replay", json={"ids": []}).status_code == 401


def test_bulk_replay_by_ids_makes_linked_jobs_and_is_bounded(
    client: FlaskClient, store: JobStore, redis_server: RedisServer
) -> None:
    hook_id = f"r-{uuid.uuid4().hex[:8]}"
    put_hook(client, hook_id)
    failed = [finished_job(store, hook_id, JobStatus.FAILED) for _ in range(2)]

    dry = client.post(
        "/api/jobs/replay", json={"ids": [*failed, "0" * 32], "dryRun": True}, headers=AUTH
    )
    assert dry.json == {"dryRun": True, "matched": 2, "capped": False, "max": 5}

    answer = client.post("/api/jobs/replay", json={"ids": [*failed, "0" * 32]}, headers=AUTH)
    assert answer.status_code == 200
    body = answer.json
    assert [r["jobId"] for r in body["replayed"]] == failed
    assert body["failed"] == [
        {
            "jobId": "0" * 32,
            "error": {"code": "job_not_found", "message": body["failed"][0]["error"]["message"]},
        }
    ]
    redis = redis_server.client()
    for item in body["replayed"]:
        assert redis.hget(keys.job(item["newJobId"]), "replayOf").decode() == item["jobId"]
        assert redis.hget(keys.job(item["jobId"]), "replayedBy").decode() == item["newJobId"]
        assert redis.hget(keys.job(item["newJobId"]), "request") is not None  # a real new job

    too_many = client.post("/api/jobs/replay", json={"ids": ["x"] * 6}, headers=AUTH)
    assert too_many.status_code == 400


def test_bulk_replay_by_filter_counts_first_then_replays_each_once(
    client: FlaskClient, store: JobStore
) -> None:
    hook_id = f"f-{uuid.uuid4().hex[:8]}"
    put_hook(client, hook_id)
    failed = [finished_job(store, hook_id, JobStatus.FAILED) for _ in range(7)]
    finished_job(store, hook_id, JobStatus.SUCCEEDED)
    flt = {"hook": hook_id, "status": "failed", "since": "1h"}

    dry = client.post("/api/jobs/replay", json={"filter": flt, "dryRun": True}, headers=AUTH)
    assert dry.json["matched"] == 7 and dry.json["max"] == 5

    first = client.post("/api/jobs/replay", json={"filter": flt}, headers=AUTH).json
    assert len(first["replayed"]) == 5  # the bound per call
    assert first["nextCursor"]
    second = client.post(
        "/api/jobs/replay", json={"filter": flt, "cursor": first["nextCursor"]}, headers=AUTH
    ).json
    assert len(second["replayed"]) == 2
    replayed = {r["jobId"] for r in first["replayed"] + second["replayed"]}
    assert replayed == set(failed)

    # Replayed jobs are skipped by a later bulk replay by filter.
    again = client.post("/api/jobs/replay", json={"filter": flt, "dryRun": True}, headers=AUTH)
    assert again.json["matched"] == 0
    listed = client.get(f"/api/jobs?hook={hook_id}&status=failed&replayed=false", headers=AUTH)
    assert listed.json["jobs"] == []


def test_bulk_redeliver_needs_a_callback_and_lists_refusals(
    client: FlaskClient, store: JobStore
) -> None:
    hook_id = f"d-{uuid.uuid4().hex[:8]}"
    put_hook(client, hook_id)
    job_id = finished_job(store, hook_id, JobStatus.SUCCEEDED)
    answer = client.post("/api/jobs/redeliver", json={"ids": [job_id]}, headers=AUTH).json
    assert answer["redelivered"] == []
    assert answer["failed"][0]["error"]["code"] == "invalid_request"


def test_failed_deliveries_are_searchable(
    client: FlaskClient, store: JobStore, redis_server: RedisServer
) -> None:
    hook_id = f"dl-{uuid.uuid4().hex[:8]}"
    job_id = finished_job(store, hook_id, JobStatus.SUCCEEDED)
    deliveries = DeliveryStore(redis_server.client(), 3600)
    deliveries.record(job_id, {"status": 500}, DeliveryStatus.FAILED, None)
    found = client.get("/api/jobs?delivery=failed&since=1h", headers=AUTH).json["jobs"]
    assert job_id in [j["jobId"] for j in found]
    deliveries.record(job_id, {"status": 200}, DeliveryStatus.SUCCEEDED, None)
    found = client.get("/api/jobs?delivery=failed&since=1h", headers=AUTH).json["jobs"]
    assert job_id not in [j["jobId"] for j in found]


def test_test_runs_are_not_indexed(store: JobStore, redis_server: RedisServer) -> None:
    job_id = new_job_id()
    event = EventRequest("POST", "/", "", {}, {}, "", b"")
    store.create(job_id, "", 0, event, 0, ("test:queue:inline", b"{}"), also=Extras(indexed=False))
    assert redis_server.client().zscore(keys.jobs_index(), job_id) is None
