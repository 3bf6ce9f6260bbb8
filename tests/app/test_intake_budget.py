"""The intake's memory check under a fast flood, against a real redis-server
with a small maxmemory: events are refused at the high-water mark, not once
Redis itself is full. A full Redis keeps workers' own writes waiting on
trims (``workers/store/jobs/writes.py``) and refuses a starting Celery
node's first write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from app.job_writer import JobWriter
from tests.support.payloads import github_headers, github_push
from tests.support.stack import RedisServer
from workers.errors import StoreFull
from workers.settings import Settings
from workers.store.budget import MemoryBudget
from workers.store.jobs.records import EventRequest, new_job_id
from workers.store.jobs.steps import Conditions
from workers.store.jobs.store import JobStore
from workers.store.lanes.lane import Lane

SETTINGS = Settings()
# 25 kB pushes with a real push's entropy (stored compressed, as sent).
EVENTS = [github_push(25_000, seed=seed) for seed in range(16)]


@pytest.fixture
def small_redis(tmp_path: Path) -> Iterator[redis.Redis]:
    server = RedisServer(tmp_path, maxmemory="4mb").start()
    yield server.client()
    server.stop()


def test_a_fast_flood_is_refused_at_the_high_water_mark(small_redis: redis.Redis) -> None:
    writer = JobWriter(SETTINGS, JobStore(small_redis, 600), MemoryBudget(small_redis, SETTINGS))
    lane = Lane("flood")
    accepted = 0
    # As fast as one process writes (no HTTP): far more events than the
    # budget's reading, trusted for a quarter of a second, used to see.
    with pytest.raises(StoreFull):  # never Redis's own OOM refusal
        for body in EVENTS * 100:
            headers = {k.lower(): v for k, v in github_headers(body).items()}
            event = EventRequest("POST", "/", "", {}, headers, "127.0.0.1", body)
            job_id = new_job_id()
            writer.write(job_id, "flood", 1, event, 0, None, 1000, Conditions(), lane)
            accepted += 1
    assert accepted > 50
    # Refused within an event or two of the mark, with the room above it left
    # (as Redis counts toward maxmemory: its AOF buffer, which comes and goes
    # by up to 5% here, is left out).
    memory = small_redis.info("memory")
    held = memory["used_memory"] - memory["mem_not_counted_for_evict"]
    assert held < (SETTINGS.redis_high_water + 0.03) * memory["maxmemory"], memory
    assert small_redis.set("room", "left")  # Redis itself still takes writes
