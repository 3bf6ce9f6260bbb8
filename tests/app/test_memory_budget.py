"""The memory budget at the intake (Flask's test client, a real redis-server
with a small maxmemory, no workers): finished jobs make room; when none is
left, events are refused with 503 + Retry-After, never a 500 and never a
Redis OOM error, and no accepted event is evicted."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import pytest
from flask.testing import FlaskClient

from app import create_app
from tests.support.payloads import github_push
from tests.support.stack import ADMIN_TOKEN, RedisServer, hooklet_env
from workers.settings import load_settings
from workers.store import keys, metrics
from workers.store.jobs.records import EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import JobStore

# Fills a Redis to its memory budget: slow for the fast layer, so it runs
# with the stack tests.
pytestmark = pytest.mark.stack

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def small_redis(tmp_path) -> Iterator[RedisServer]:  # noqa: ANN001
    server = RedisServer(tmp_path, maxmemory="8mb").start()
    yield server
    server.stop()


@pytest.fixture
def client(small_redis: RedisServer) -> FlaskClient:
    app = create_app(load_settings(hooklet_env(small_redis.url), redis_trim_batch=20))
    client = app.test_client()
    answer = client.put("/api/hooks/push", json={"script": "null"}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return client


@cache
def push_events() -> list[bytes]:
    """64 push events of 25 kB with a real push's entropy, made once (4 ms
    each) and used in turn: each stored job costs what a fresh one would."""
    return [github_push(25_000, seed=seed) for seed in range(64)]


def push_event(seed: int) -> bytes:
    return push_events()[seed % len(push_events())]


def send(client: FlaskClient, seed: int) -> tuple[int, dict, dict]:
    answer = client.post("/h/push", data=push_event(seed))
    return answer.status_code, answer.get_json(), dict(answer.headers)


def test_finished_jobs_make_room_for_new_events(
    small_redis: RedisServer, client: FlaskClient
) -> None:
    redis = small_redis.client()
    store = JobStore(redis, retention_s=600)
    finished: list[str] = []
    while redis.info("memory")["used_memory"] < 0.9 * redis.info("memory")["maxmemory"]:
        job_id = new_job_id()
        body = push_event(len(finished))
        event = EventRequest("POST", "/", "", {}, {}, "", body)
        store.create(job_id, "push", 1, event, 30, ("old-queue", b"m"))
        store.start(job_id, "node/1", 1000)
        store.finish(job_id, Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200}))
        finished.append(job_id)
    redis.delete("old-queue")
    # As many events as fill half the room the finished jobs hold.
    statuses = [send(client, 10_000 + i)[0] for i in range(len(finished) // 2)]
    assert statuses == [202] * (len(finished) // 2)  # accepted: room was made
    trimmed = int(redis.hget(keys.metrics(), metrics.field("jobs_trimmed")) or 0)
    assert trimmed > 0
    assert not redis.exists(keys.job(finished[0]))  # the oldest went first
    metrics_text = client.get("/metrics").text
    assert f"hooklet_jobs_trimmed_total {float(trimmed)}" in metrics_text
    assert "hooklet_redis_memory_max_bytes" in metrics_text


def test_with_nothing_finished_to_trim_events_are_refused_with_503(
    small_redis: RedisServer, client: FlaskClient
) -> None:
    redis = small_redis.client()
    accepted: list[str] = []
    refusals: list[tuple[dict, dict]] = []
    for seed in range(2_000):
        status, body, headers = send(client, seed)
        assert status in (202, 503), (status, body)  # never a 500
        if status == 202:
            accepted.append(body["jobId"])
        else:
            refusals.append((body, headers))
            if len(refusals) >= 5:
                break
    assert accepted and len(refusals) == 5
    for body, headers in refusals:
        assert body["error"]["code"] == "store_full" and "OOM" not in body["error"]["message"]
        assert int(headers["Retry-After"]) > 0
    # Every accepted event is still there, queued: nothing was evicted.
    statuses = [redis.hget(keys.job(j), "status") for j in accepted]
    assert statuses == [b"queued"] * len(accepted)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    memory = ready.get_json()["memory"]
    assert memory["full"] and memory["finishedJobs"] == 0 and memory["maxBytes"] > 0
    assert any("memory budget" in p for p in ready.get_json()["problems"])


def test_retention_per_hook_is_validated(client: FlaskClient) -> None:
    ok = client.put("/api/hooks/short", json={"script": "null", "retentionS": 3600}, headers=ADMIN)
    assert ok.status_code == 201 and ok.get_json()["retentionS"] == 3600
    for bad in (10, 10**9, "1h", True):
        answer = client.put("/api/hooks/bad", json={"retentionS": bad}, headers=ADMIN)
        assert answer.status_code == 422 and "retentionS" in answer.get_json()["error"]["message"]


def test_a_write_redis_refuses_at_maxmemory_is_seen_as_the_budget_not_a_500(
    tmp_path,  # noqa: ANN001
) -> None:
    """redis-py turns Redis's ``OOM`` reply into ``OutOfMemoryError`` and drops
    the code from the message, a script's refused write too. Unrecognised,
    an event that met a full Redis answered 500 instead of 503 store_full."""
    import redis as redis_py

    from workers.store.budget import is_oom

    server = RedisServer(tmp_path, maxmemory="2mb").start()
    try:
        client = redis_py.Redis.from_url(server.url)
        client.config_set("maxmemory-policy", "noeviction")
        with pytest.raises(redis_py.ResponseError) as refused:
            for i in range(10_000):
                client.set(f"filler:{i}", b"x" * 4096)
        assert is_oom(refused.value)
        with pytest.raises(redis_py.ResponseError) as in_script:
            client.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "k", "v" * 4096)
        assert is_oom(in_script.value)
    finally:
        server.stop()
