"""``/api/stats``: one-minute buckets written by each process's stats buffer,
read back as series per hook and for the fleet, and bounded by expiry."""

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
from workers.store.jobs.records import EventRequest, FailureReason, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import JobStore
from workers.store.stats import buckets as stats
from workers.store.stats.buffer import StatsBuffer
from workers.store.stats.series import quantile

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def redis_server(own_redis: RedisServer) -> RedisServer:
    """Not the session's server: its stack would take these made-up jobs."""
    return own_redis


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[FlaskClient]:
    settings = Settings(redis_url=redis_server.url, admin_token=ADMIN_TOKEN)
    yield create_app(settings).test_client()


@pytest.fixture
def buffer(redis_server: RedisServer) -> Iterator[StatsBuffer]:
    """A stats buffer as a process holds one; the tests flush it themselves."""
    stats_buffer = StatsBuffer(redis_server.client(), flush_s=3600)
    yield stats_buffer
    stats_buffer.stop()


def run_job(
    store: JobStore,
    buffer: StatsBuffer,
    hook_id: str,
    duration_ms: float,
    reason: FailureReason | None,
) -> None:
    """An event accepted, then finished, as the intake and a worker child
    record them (the stats into the buffer, written at its flush)."""
    job_id = new_job_id()
    event = EventRequest("POST", "/", "", {}, {}, "", b"")
    queue = f"test:queue:{hook_id}"
    store.create(job_id, hook_id, 1, event, 10, (queue, b"{}"))
    buffer.add(stats.event_write(hook_id, "accepted", queue))
    store.start(job_id, "node/1", 1000)
    status = JobStatus.FAILED if reason else JobStatus.SUCCEEDED
    outcome = Outcome(status, duration_ms, [], reason=reason, error="x" if reason else None)
    assert store.finish(job_id, outcome).recorded
    buffer.add(
        stats.job_write(
            hook_id, status.value, reason and reason.value, duration_ms, ("h/1", 50 * 2**20, 3)
        )
    )


def test_series_per_hook_and_for_the_fleet(
    client: FlaskClient, redis_server: RedisServer, buffer: StatsBuffer
) -> None:
    store = JobStore(redis_server.client(), retention_s=600)
    hook_id = f"s-{uuid.uuid4().hex[:8]}"
    client.put(f"/api/hooks/{hook_id}", json={"script": "1"}, headers=AUTH)
    for duration_ms in (1.0, 2.0, 4.0, 8.0):
        run_job(store, buffer, hook_id, duration_ms, None)
    run_job(store, buffer, hook_id, 120.0, FailureReason.TIMEOUT)
    assert buffer.flush()

    series = client.get(f"/api/stats?hook={hook_id}&range=15m", headers=AUTH).json
    assert series["hook"] == hook_id and series["stepS"] == 60 and len(series["t"]) == 15
    assert series["events"]["accepted"][-1] == 5
    assert series["jobs"]["succeeded"][-1] == 4 and series["jobs"]["failed"][-1] == 1
    assert series["terminations"] == {"timeout": [0.0] * 14 + [1.0]}
    assert series["durationMs"]["max"][-1] == 120.0
    assert 1.0 <= series["durationMs"]["p50"][-1] <= 5.0
    assert series["durationMs"]["p95"][-1] > 25.0
    assert series["durationMs"]["p50"][0] is None  # no run in that minute
    assert "childRssBytes" not in series

    fleet = client.get("/api/stats?range=1h", headers=AUTH).json
    assert fleet["hook"] is None and len(fleet["t"]) == 60
    assert fleet["jobs"]["failed"][-1] >= 1
    assert fleet["childRssBytes"]["h/1"][-1] == 50 * 2**20
    assert fleet["warmIsolates"]["h/1"][-1] == 3
    assert fleet["queueDepth"]["scripts"][-1] >= 1  # the test queue's length at the flush

    day = client.get("/api/stats?range=24h", headers=AUTH).json
    assert day["stepS"] == 900 and len(day["t"]) == 96
    # Finished steps are summed once, then read back whole: the same answer.
    again = client.get("/api/stats?range=24h", headers=AUTH).json
    assert again == day and again["jobs"]["failed"][-1] >= 1
    first_step = day["t"][0] // stats.BUCKET_S
    assert redis_server.client().exists(keys.stats_step_cache("*", 15, first_step))

    summary = client.get("/api/stats/hooks", headers=AUTH).json["hooks"][hook_id]
    assert summary["events"] == 5 and summary["failed"] == 1
    assert summary["errorRate"] == 0.2 and summary["lastEventAt"] is not None


def test_buckets_expire_after_a_day(redis_server: RedisServer, buffer: StatsBuffer) -> None:
    store = JobStore(redis_server.client(), retention_s=600)
    run_job(store, buffer, f"e-{uuid.uuid4().hex[:8]}", 1.0, None)
    assert buffer.flush()
    client = redis_server.client()
    minute = stats.minute()
    for key in (keys.stats_hooks(minute), keys.stats_fleet(minute)):
        assert 0 < client.ttl(key) <= stats.KEEP_S + 2 * stats.BUCKET_S


def test_bad_ranges_and_unknown_hooks_are_refused(client: FlaskClient) -> None:
    assert client.get("/api/stats?range=5", headers=AUTH).status_code == 400
    assert client.get("/api/stats?range=soon", headers=AUTH).status_code == 400
    assert client.get("/api/stats?hook=no-such-hook", headers=AUTH).status_code == 404
    assert client.get("/api/stats").status_code == 401


def test_quantiles_interpolate_within_a_bucket() -> None:
    counts = [0.0] * len(stats.DURATION_BUCKETS_MS)
    counts[stats.duration_bucket(4.0)] = 10  # all in (3, 5]
    assert 3.0 < quantile(counts, 0.5, 4.5) <= 4.5
    assert quantile(counts, 0.99, 4.2) == pytest.approx(4.2)
    assert quantile([0.0] * len(counts), 0.5, None) is None


def test_hook_summaries_are_the_same_from_cached_blocks(
    redis_server: RedisServer, buffer: StatsBuffer
) -> None:
    from workers.store.stats.summary import hook_summaries

    client = redis_server.client()
    store = JobStore(client, retention_s=600)
    hook_id = f"b-{uuid.uuid4().hex[:8]}"
    for duration_ms in (1.0, 3.0):
        run_job(store, buffer, hook_id, duration_ms, None)
    run_job(store, buffer, hook_id, 9.0, FailureReason.ERROR)
    assert buffer.flush()
    later = time.time() + 20 * 60  # this minute's block is finished by then
    first = hook_summaries(client, [hook_id], now=later)[hook_id]
    again = hook_summaries(client, [hook_id], now=later)[hook_id]  # from the cache
    assert first == again
    assert (first["events"], first["finished"], first["failed"]) == (3, 3, 1)
    block = stats.minute() - stats.minute() % 5
    assert client.exists(keys.stats_step_cache("*hooks", 5, block))
