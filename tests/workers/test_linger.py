"""Lingering on the sync lane (issue 21 item 5), against a real redis-server:
a child blocked on the sync lane takes a sync job queued meanwhile and spends
its parked token (Celery never delivers it); when no child lingers, every
parked token is Celery's again, so no job is left without one."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.stack import RedisServer
from workers.queue.messages import run_task
from workers.queue.names import RUN_SCRIPT
from workers.settings import Settings
from workers.store import keys
from workers.store.jobs.records import EventRequest, new_job_id
from workers.store.jobs.store import JobStore
from workers.store.lanes.lane import Lane, TakeFrom
from workers.store.lanes.linger import Linger

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
SETTINGS = Settings()
SYNC_QUEUE = keys.celery_queue("scripts.sync")


@pytest.fixture
def store(own_redis: RedisServer) -> JobStore:
    client = own_redis.client()
    client.flushdb()
    return JobStore(client, retention_s=600)


def take_from(worker: str = "node/1") -> TakeFrom:
    return TakeFrom(
        SYNC_QUEUE, keys.celery_queue("scripts"), RUN_SCRIPT, worker, 1000, time.time() + 60
    )


def queue_sync(store: JobStore, hook: str = "s") -> str:
    job_id = new_job_id()
    lane = Lane.sync(hook)
    message = run_task(job_id, SETTINGS, lane)
    store.create(job_id, hook, 1, EVENT, 0, message, extra={"timeoutMs": 1000}, lane=lane)
    return job_id


def test_a_lingering_child_takes_the_sync_job_queued_meanwhile(store: JobStore) -> None:
    client = store._redis  # noqa: SLF001
    linger = Linger(client)
    woken: list[bool] = []
    waiting = threading.Thread(target=lambda: woken.append(linger.wait(take_from(), 30)))
    waiting.start()
    deadline = time.monotonic() + 10
    while client.zcard(keys.lingering()) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    job_id = queue_sync(store)
    waiting.join(30)
    assert woken == [True]
    assert client.llen(SYNC_QUEUE) == 0  # its token parked, not Celery's
    taken = linger.end(take_from(), and_take=True)
    assert taken is not None and (taken.job_id, taken.to_run) == (job_id, True)
    # The parked token was spent with the take: nothing left for Celery.
    assert client.llen(keys.parked_sync_tokens()) == 0 and client.llen(SYNC_QUEUE) == 0
    assert client.zcard(keys.lingering()) == 0


def test_parked_tokens_go_to_celery_once_no_child_lingers(store: JobStore) -> None:
    client = store._redis  # noqa: SLF001
    linger = Linger(client)
    client.zadd(keys.lingering(), {"node/1": time.time() + 30, "node/2": time.time() + 30})
    first, second = queue_sync(store), queue_sync(store)
    assert client.llen(keys.parked_sync_tokens()) == 2 and client.llen(keys.sync_wake()) == 2
    assert linger.end(take_from("node/1"), and_take=False) is None
    assert client.llen(keys.parked_sync_tokens()) == 2  # node/2 still lingers
    linger.end(take_from("node/2"), and_take=False)
    assert client.llen(keys.parked_sync_tokens()) == 0 and client.llen(SYNC_QUEUE) == 2
    assert client.exists(keys.sync_wake()) == 0
    assert {store.claim(t, take_from()).job_id for t in (first, second)} == {first, second}


def test_a_dead_lingering_childs_tokens_go_to_celery_with_the_next_sync_job(
    store: JobStore,
) -> None:
    client = store._redis  # noqa: SLF001
    client.zadd(keys.lingering(), {"node/1": time.time() + 0.2})  # then it died
    queue_sync(store)
    assert client.llen(keys.parked_sync_tokens()) == 1
    time.sleep(0.3)
    queue_sync(store)
    assert client.llen(keys.parked_sync_tokens()) == 0 and client.llen(SYNC_QUEUE) == 2


@pytest.mark.parametrize("left_s", [0.0, -0.0005, -0.5])
def test_a_wait_with_no_time_left_returns_at_once(store: JobStore, left_s: float) -> None:
    """The batch window ran out between the caller's check and the wait: no
    blocking (BLPOP 0, or -0.5 ms rounded up to 0, blocks for good) and no
    error (a negative timeout is refused), and the child is not lingering."""
    client = store._redis
    linger = Linger(client)
    woken: list[bool] = []
    waiting = threading.Thread(target=lambda: woken.append(linger.wait(take_from(), left_s)))
    waiting.start()
    waiting.join(5)
    assert woken == [False]
    assert client.zcard(keys.lingering()) == 0
    client.rpush(keys.sync_wake(), b"1")  # frees a wait blocked on the old code


def test_async_jobs_are_never_parked(store: JobStore) -> None:
    client = store._redis  # noqa: SLF001
    client.zadd(keys.lingering(), {"node/1": time.time() + 30})
    job_id = new_job_id()
    store.create(job_id, "a", 1, EVENT, 0, run_task(job_id, SETTINGS, Lane("a")), lane=Lane("a"))
    assert client.llen(keys.parked_sync_tokens()) == 0 and client.llen("scripts") == 1
