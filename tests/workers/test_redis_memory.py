"""Fewer bytes per job, and the memory budget's trimmer, against a real
redis-server run with the shipped config and a small maxmemory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.payloads import github_headers, github_push
from tests.support.stack import RedisServer
from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.budget import MemoryBudget
from workers.store.jobs.records import EventRequest, JobStatus, Outcome, new_job_id, packed
from workers.store.jobs.store import JobStore
from workers.store.jobs.view import render_job

PUSH = github_push(3_700)


@pytest.fixture(scope="module")
def redis_server(own_redis: RedisServer) -> RedisServer:
    """Not the session's server: its stack would take these made-up jobs."""
    return own_redis


def push_event(body: bytes = PUSH) -> EventRequest:
    headers = {k.lower(): v for k, v in github_headers(body).items()}
    return EventRequest("POST", "/", "", {}, headers, "127.0.0.1", body)


@pytest.fixture(scope="module")
def small_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("budget"), maxmemory="12mb").start()
    yield server
    server.stop()


def finished_job(
    store: JobStore, hook_id: str, body: bytes = PUSH, history: int = 0, echo: bool = False
) -> str:
    job_id = new_job_id()
    store.create(job_id, hook_id, 1, push_event(body), history, (f"test:q:{hook_id}", b"m"))
    store.start(job_id, "node/1", 1000)
    result = {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body}
    outcome = Outcome(JobStatus.SUCCEEDED, 1.5, [], result=result)
    store.finish(job_id, outcome, request_body=body if echo else None)
    return job_id


def test_small_values_stay_plain_and_big_ones_are_compressed() -> None:
    assert packed("body", b'{"ok":true}') == ("body", b'{"ok":true}')
    name, value = packed("body", PUSH)
    assert name == "bodyZ" and len(value) < len(PUSH) / 2
    noise = __import__("os").urandom(600)  # does not compress: stored as it is
    assert packed("body", noise)[0] == "body"


def test_readers_see_the_job_as_sent_never_compressed_bytes(
    redis_server: RedisServer, hook_id: str
) -> None:
    client = redis_server.client()
    store = JobStore(client, retention_s=600)
    job_id = finished_job(store, hook_id)
    stored = client.hgetall(keys.job(job_id))
    assert b"bodyZ" in stored and b"resultBodyZ" in stored and b"body" not in stored
    raw = store.get(job_id)
    assert EventRequest.from_job(raw) == push_event()
    view = render_job(raw)
    assert view["jobId"] == job_id
    assert view["request"]["body"] == PUSH.decode() and view["result"]["body"] == PUSH.decode()
    assert view["request"]["headers"]["x-github-event"] == "push"


def test_an_echoed_body_is_stored_once(redis_server: RedisServer, hook_id: str) -> None:
    client = redis_server.client()
    store = JobStore(client, retention_s=600)
    job_id = finished_job(store, hook_id, echo=True)
    stored = client.hgetall(keys.job(job_id))
    assert b"bodyZ" in stored and b"resultBodyZ" not in stored and b"resultBody" not in stored
    view = render_job(store.get(job_id))
    assert view["result"]["body"] == view["request"]["body"] == PUSH.decode()


def test_a_push_event_costs_under_3_5_kb_in_a_compact_hash(
    redis_server: RedisServer, hook_id: str
) -> None:
    client = redis_server.client()
    store = JobStore(client, retention_s=600)
    job_id = finished_job(store, hook_id)
    assert client.object("encoding", keys.job(job_id)) == b"listpack"
    assert client.memory_usage(keys.job(job_id), samples=0) < 3_500


def test_trimming_takes_the_oldest_finished_jobs_and_their_history(
    small_redis: RedisServer, hook_id: str
) -> None:
    client = small_redis.client()
    settings = Settings(redis_high_water=0.6, redis_trim_batch=50)
    budget = MemoryBudget(client, settings)
    store = JobStore(client, retention_s=600, budget=budget)
    queued = new_job_id()
    store.create(queued, hook_id, 1, push_event(), 1000, (f"test:q:{hook_id}", b"m"))
    running = new_job_id()
    store.create(running, hook_id, 1, push_event(), 1000, (f"test:q:{hook_id}", b"m"))
    store.start(running, "node/1", 1000)
    done: list[str] = []
    # 25 kB pushes with a real push's entropy, made once (4 ms each) and
    # used in turn: each stored job costs what a fresh one would.
    bodies = [github_push(25_000, seed=seed) for seed in range(64)]
    while not budget.pressure().over:
        done.append(finished_job(store, hook_id, bodies[len(done) % len(bodies)], 1000))
    trimmed = budget.enforce()
    assert trimmed > 0 and not budget.pressure().over
    gone, kept = done[:trimmed], done[trimmed:]
    assert not any(client.exists(keys.job(j)) for j in gone)  # the oldest went first
    assert all(client.exists(keys.job(j)) for j in kept)
    history = {i.decode() for i in client.lrange(keys.history(hook_id), 0, -1)}
    assert not history & set(gone) and set(kept) <= history
    assert client.exists(keys.job(queued)) and client.exists(keys.job(running))
    counter = client.hget(keys.metrics(), metrics.field("jobs_trimmed"))
    assert int(counter) >= trimmed
    assert budget.finished_jobs() == len(kept)
    budget.trim(10**6)  # everything finished: the queued and running jobs stay
    assert budget.finished_jobs() == 0
    assert client.exists(keys.job(queued)) and client.exists(keys.job(running))
    client.delete(keys.job(queued), keys.job(running), keys.history(hook_id))


def test_a_hook_can_keep_its_jobs_for_less_or_longer(
    redis_server: RedisServer, hook_id: str
) -> None:
    client = redis_server.client()
    store = JobStore(client, retention_s=600)
    job_id = new_job_id()
    store.create(job_id, hook_id, 1, push_event(), 0, ("test:q", b"m"), retention_s=120)
    assert client.ttl(keys.job(job_id)) == -1  # retention counts from the end (issue 20)
    store.start(job_id, "node/1", 1000)
    store.finish(job_id, Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200}))
    assert 100 < client.ttl(keys.job(job_id)) <= 120  # FINISH keeps the hook's retention
    assert client.zscore(keys.finished(), job_id) is not None


def test_index_entries_of_expired_jobs_are_forgotten(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    client = redis_server.client()
    settings = Settings(retention_s=60, max_retention_s=120)
    client.zadd(keys.finished(), {"old-job": 1.0})
    assert MemoryBudget(client, settings).forget_expired(now=10_000.0) >= 1
    assert client.zscore(keys.finished(), "old-job") is None


def test_a_job_with_a_callback_still_to_send_is_trimmed_last(
    redis_server: RedisServer, hook_id: str
) -> None:
    client = redis_server.client()
    budget = MemoryBudget(client, Settings())
    store = JobStore(client, retention_s=600, budget=budget)
    client.delete(keys.finished())
    delivering = new_job_id()
    store.create(delivering, hook_id, 1, push_event(), 0, ("test:q", b"m"))
    store.start(delivering, "node/1", 1000)
    outcome = Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200})
    store.finish(delivering, outcome, then_push=("test:callbacks", b"m"))
    time.sleep(0.002)  # finished jobs are scored to the ms: a tie would go by job id
    later = finished_job(store, hook_id)
    assert budget.trim(1) == 0  # the oldest has a callback pending: moved back
    assert budget.trim(1) == 1 and not client.exists(keys.job(later))
    assert client.exists(keys.job(delivering))
