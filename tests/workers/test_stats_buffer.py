"""``StatsBuffer``: stats operations merged per process, written in one
Redis call per flush, never raising into the job path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.stack import RedisServer, wait_until
from workers.store import keys
from workers.store.stats import buckets as stats
from workers.store.stats.buffer import StatsBuffer

TS = 1_700_000_000.0  # a fixed minute: each test uses its own hashes' fields


@pytest.fixture
def client(own_redis: RedisServer) -> redis.Redis:
    client = own_redis.client()
    client.flushdb()
    return client


@pytest.fixture
def buffer(client: redis.Redis) -> Iterator[StatsBuffer]:
    stats_buffer = StatsBuffer(client, flush_s=3600)  # the tests flush it
    yield stats_buffer
    stats_buffer.stop()


def fleet(client: redis.Redis) -> dict[str, str]:
    raw = client.hgetall(keys.stats_fleet(stats.minute(TS)))
    return {k.decode(): v.decode() for k, v in raw.items()}


def write() -> stats.StatsWrite:
    return stats.StatsWrite(TS)


def test_adds_sum_maxima_keep_the_largest_and_sets_keep_the_last(
    client: redis.Redis, buffer: StatsBuffer
) -> None:
    for value in (3, 9, 4):
        buffer.add(write().both("h", "i", "jf", "succeeded").fleet("x", "dmax", "ms", value))
        buffer.add(write().fleet("s", "rss", "child/1", value * 100))
    assert len(buffer) == 4  # merged: hook and fleet counts, one max, one gauge
    client.hset(keys.stats_fleet(stats.minute(TS)), "dmax|ms", 7)  # another process's
    assert buffer.flush()
    assert fleet(client) == {
        "jf|succeeded": "3",
        "dmax|ms": "9",
        "rss|child/1": "400",
    }
    assert client.hget(keys.stats_hooks(stats.minute(TS)), "h|jf|succeeded") == b"3"
    buffer.add(write().fleet("x", "dmax", "ms", 5).fleet("i", "jf", "succeeded", 2))
    assert buffer.flush()
    assert fleet(client)["dmax|ms"] == "9" and fleet(client)["jf|succeeded"] == "5"
    for key in (keys.stats_hooks(stats.minute(TS)), keys.stats_fleet(stats.minute(TS))):
        assert 0 < client.ttl(key) <= stats.TTL_S


def test_queue_depth_is_the_queues_length_at_the_flush(
    client: redis.Redis, buffer: StatsBuffer
) -> None:
    queue = "test:buffer:queue"
    for _ in range(3):
        buffer.add(stats.event_write("h", "accepted", queue, ts=TS))
    assert len(buffer) == 3  # the event counts (hook, fleet) and one depth to sample
    client.rpush(queue, *range(5))
    assert buffer.flush()
    assert fleet(client)["q|scripts"] == "5"
    client.ltrim(queue, 0, 1)  # shorter now: the minute keeps its peak
    buffer.add(stats.event_write("h", "accepted", queue, ts=TS))
    assert buffer.flush()
    assert fleet(client) == {"ev|accepted": "4", "q|scripts": "5"}


def test_a_flush_is_one_redis_call(client: redis.Redis, buffer: StatsBuffer) -> None:
    buffer.add(write().fleet("i", "ev", "accepted"))
    assert buffer.flush()  # loads the script
    client.config_resetstat()
    for n in range(200):
        hook = f"h{n % 20}"
        buffer.add(stats.event_write(hook, "accepted", "test:buffer:queue", ts=TS))
        buffer.add(stats.job_write(hook, "failed", "timeout", 12.5, (f"c/{n % 4}", 1 << 20, 2), TS))
    assert buffer.flush()
    calls = {name[8:]: info["calls"] for name, info in client.info("commandstats").items()}
    assert calls.pop("evalsha") == 1
    # Everything else ran inside the script (commandstats count those too).
    assert set(calls) <= {"hincrby", "hset", "hget", "llen", "expire", "config|resetstat", "info"}
    assert calls["llen"] == 1  # the queue sampled once
    assert fleet(client)["jf|failed"] == "200" and fleet(client)["ev|accepted"] == "201"
    assert buffer.flush() and len(buffer) == 0  # nothing left: no call at all


def test_a_redis_error_is_logged_and_dropped_not_raised(
    client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens there; the client fails at once (redis-py's default
    # retries a refused connection with backoff for ~5 s first).
    gone = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    buffer = StatsBuffer(gone, flush_s=3600)
    buffer.add(write().fleet("i", "ev", "accepted"))
    assert buffer.flush() is False
    assert len(buffer) == 0 and "stats flush failed" in caplog.text
    # A bad operation (a non-integer add) is refused by Redis: also dropped.
    broken = StatsBuffer(client, flush_s=3600)
    broken.add(write().fleet("i", "ev", "accepted", "lots"))
    assert broken.flush() is False


def test_the_thread_flushes_on_its_own_and_a_full_buffer_flushes_at_once(
    client: redis.Redis,
) -> None:
    ticking = StatsBuffer(client, flush_s=0.05)
    ticking.add(write().fleet("i", "ev", "accepted"))
    wait_until(lambda: fleet(client).get("ev|accepted") == "1", timeout_s=5, what="a flush")
    ticking.stop()
    small = StatsBuffer(client, flush_s=3600, max_entries=3)
    small.add(write().fleet("i", "jf", "succeeded").fleet("i", "jf", "failed"))
    assert len(small) == 2
    small.add(write().fleet("i", "tr", "timeout"))
    assert len(small) == 0 and fleet(client)["tr|timeout"] == "1"
    small.stop()
