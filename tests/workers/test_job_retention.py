"""How long jobs, their index entries and their deliveries live (issue 20,
items 3 to 7), against a real redis-server: retention counts from a job's
end, an index entry lives as long as its job, a delivery never recreates a
job's key, and deleting a hook deletes every job of it."""

from __future__ import annotations

import time
from dataclasses import replace

import orjson
import pytest
import redis

from tests.support.receiver import Receiver, Reply
from tests.support.stack import RedisServer, wait_until
from workers.delivery.callbacks import Deliverer
from workers.hook_validation import validate_hook
from workers.settings import Settings
from workers.store import keys
from workers.store.budget import MemoryBudget
from workers.store.deliveries import DeliveryStore
from workers.store.hooks import HookStore
from workers.store.jobs import store as jobs_module
from workers.store.jobs.index import TRIM_BATCH, IndexTrim
from workers.store.jobs.records import (
    DeliveryStatus,
    EventRequest,
    FailureReason,
    JobStatus,
    Outcome,
    new_job_id,
)
from workers.store.jobs.store import JobStore

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
SUCCEEDED = Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200})
FAILED = Outcome(JobStatus.FAILED, 1.0, [], reason=FailureReason.ERROR, error="boom")


def queued(store: JobStore, hook_id: str, retention_s: int | None = None) -> str:
    job_id = new_job_id()
    store.create(job_id, hook_id, 1, EVENT, 5, ("test:queue", b"m"), retention_s=retention_s)
    return job_id


def begun(store: JobStore, job_id: str) -> None:
    assert store.start(job_id, "worker", 1000)[1]


def gone(client: redis.Redis, job_id: str) -> bool:
    return not client.exists(keys.job(job_id))


def global_indexes() -> list[str]:
    return [
        keys.jobs_index(),
        keys.failed_jobs_index(),
        keys.dead_letters_index(),
        keys.delivery_failed_index(),
        keys.index_expiry(),
    ]


def hook_indexes(hook_id: str) -> list[str]:
    return [
        keys.hook_jobs_index(hook_id),
        keys.hook_failed_index(hook_id),
        keys.hook_dead_letters_index(hook_id),
        keys.hook_jobs(hook_id),
    ]


def failed_entries(hook_id: str) -> list[str]:
    """Where a failed event is listed (all but the failed deliveries)."""
    every = global_indexes() + hook_indexes(hook_id)
    return [i for i in every if i != keys.delivery_failed_index()]


def indexed_in(client: redis.Redis, job_id: str, hook_id: str) -> list[str]:
    return [i for i in global_indexes() + hook_indexes(hook_id) if client.zscore(i, job_id)]


def test_a_queued_or_running_job_never_expires_retention_counts_from_its_end(
    own_redis: RedisServer, hook_id: str
) -> None:
    """Item 3: the TTL was set at CREATE, so a backlog longer than the
    hook's retention lost accepted events before they ran."""
    client = own_redis.client()
    store = JobStore(client, retention_s=600)
    job_id = queued(store, hook_id, retention_s=1)
    assert client.ttl(keys.job(job_id)) == -1
    time.sleep(1.5)  # past the retention: a queued job stays
    assert not gone(client, job_id)
    begun(store, job_id)
    time.sleep(1.2)  # and a running one
    assert client.hget(keys.job(job_id), "status") == b"running"
    # Nor does the memory budget trim what has not ended.
    MemoryBudget(client, Settings()).trim(10**6)
    assert not gone(client, job_id)
    assert store.finish(job_id, SUCCEEDED).recorded
    assert 0 < client.pttl(keys.job(job_id)) <= 1000
    wait_until(lambda: gone(client, job_id), timeout_s=10, what="the job expired")


def test_an_idempotency_key_lives_as_long_as_its_job(own_redis: RedisServer, hook_id: str) -> None:
    client = own_redis.client()
    store = JobStore(client, retention_s=600)
    key = keys.idempotency(hook_id, "delivery-1")
    job_id = new_job_id()
    store.create(
        job_id,
        hook_id,
        1,
        EVENT,
        0,
        ("test:queue", b"m"),
        conditions=jobs_module.Conditions(idempotency_key=key, fingerprint="f"),
        retention_s=60,
    )
    assert client.ttl(key) == -1  # the job is queued: a retry is still a duplicate
    begun(store, job_id)
    store.finish(job_id, SUCCEEDED)
    assert 0 < client.ttl(key) <= 60


def test_an_index_entry_lives_exactly_as_long_as_its_job(
    own_redis: RedisServer, hook_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 4: CREATE trimmed the shared index with the creating hook's
    retention (another hook's older jobs vanished from the search), and
    FINISH the failed indexes with the global one."""
    client = own_redis.client()
    store = JobStore(client, retention_s=3600)
    other = f"{hook_id}-long"
    monkeypatch.setattr(jobs_module, "_now", lambda: time.time() - 120)
    older = queued(store, other)  # created two minutes ago, kept an hour
    monkeypatch.undo()
    begun(store, older)
    store.finish(older, FAILED)
    short = queued(store, hook_id, retention_s=1)  # trimmed the index by 1 s before
    assert indexed_in(client, older, other) == failed_entries(other)
    begun(store, short)
    store.finish(short, FAILED)
    assert indexed_in(client, short, hook_id) == failed_entries(hook_id)
    wait_until(lambda: gone(client, short), timeout_s=10, what="the short job expired")
    IndexTrim(client).trim([hook_id, other])
    assert indexed_in(client, short, hook_id) == []
    assert indexed_in(client, older, other) == failed_entries(other)


def test_a_delivery_never_recreates_a_job_that_is_gone(own_redis: RedisServer) -> None:
    """Item 5: a retry after its job expired wrote ``deliveryStatus`` into the
    expired key: a hash with no TTL and no ``hookId``."""
    client = own_redis.client()
    deliveries = DeliveryStore(client, 60)
    job_id = new_job_id()
    attempt = {"statusCode": 500}
    assert not deliveries.record(job_id, attempt, DeliveryStatus.PENDING, time.time() + 5)
    assert not deliveries.record(job_id, attempt, DeliveryStatus.FAILED, None)
    assert not deliveries.queue(job_id, ("test:callbacks", b"message"))
    assert gone(client, job_id) and client.llen("test:callbacks") == 0
    assert client.zscore(keys.callbacks_due(), job_id) is None
    assert client.zscore(keys.delivery_failed_index(), job_id) is None
    assert JobStore(client, 60).get(job_id) is None


def test_a_job_is_kept_while_its_delivery_is_due_and_then_for_its_retention(
    own_redis: RedisServer, hook_id: str
) -> None:
    """Items 5 and 6: a pending delivery keeps its job (and its entries)
    until past its next attempt; a failed delivery's index entry goes with
    the job."""
    client = own_redis.client()
    store, deliveries = JobStore(client, 600), DeliveryStore(client, 600)
    job_id = queued(store, hook_id, retention_s=1)
    begun(store, job_id)
    store.finish(job_id, SUCCEEDED, then_push=("test:callbacks", b"message"))
    assert 0 < client.pttl(keys.job(job_id)) <= 1000
    deliveries.record(job_id, {"n": 1}, DeliveryStatus.PENDING, time.time() + 30)
    assert client.pttl(keys.job(job_id)) > 30_000  # past the next attempt
    expiry = client.zscore(keys.index_expiry(), job_id)
    assert expiry is not None and expiry > time.time() + 30
    assert client.zscore(keys.hook_jobs(hook_id), job_id) == expiry
    deliveries.record(job_id, {"n": 2}, DeliveryStatus.FAILED, None)
    assert 0 < client.pttl(keys.job(job_id)) <= 1000  # its retention, from the delivery's end
    assert client.zscore(keys.delivery_failed_index(), job_id) is not None
    attempts = orjson.loads(client.hget(keys.job(job_id), "deliveries"))
    assert [a["n"] for a in attempts] == [1, 2]
    wait_until(lambda: gone(client, job_id), timeout_s=10, what="the job expired")
    IndexTrim(client).trim([hook_id])
    assert client.zscore(keys.delivery_failed_index(), job_id) is None
    assert indexed_in(client, job_id, hook_id) == []


def test_a_deleted_hooks_delivery_ends_at_once(
    fast_settings: Settings, hook_id: str, receiver: Receiver
) -> None:
    """Item 5: a delivery to a deleted hook stayed ``pending`` with retries."""
    settings = replace(fast_settings, callback_allowlist=("127.0.0.1",))
    client = redis.Redis.from_url(settings.redis_url)
    hooks, store = HookStore(client), JobStore(client, settings.retention_s)
    receiver.default = Reply(status=500)
    hook, _ = hooks.put(validate_hook(hook_id, {"callbackUrl": receiver.url}, settings))
    job_id = new_job_id()
    store.create(job_id, hook_id, hook.version, EVENT, 0, ("test:scripts", b"m"))
    hooks.delete(hook_id)  # a queued job stays (it ends as hook_gone)
    assert Deliverer(settings).deliver(job_id) is DeliveryStatus.FAILED
    assert client.hget(keys.job(job_id), "deliveryStatus") == b"failed"
    assert client.zscore(keys.callbacks_due(), job_id) is None
    assert receiver.for_job(job_id) == []


def test_the_reapers_index_trim_keeps_up_past_one_batch(own_redis: RedisServer) -> None:
    """Issue 21: CREATE no longer trims expired index entries on the event's
    path; the reaper's ``IndexTrim`` drops them all, batch after batch, not
    one batch per sweep."""
    client = own_redis.client()
    ids = [new_job_id() for _ in range(TRIM_BATCH * 2 + 5)]
    past = time.time() - 60
    client.zadd(keys.index_expiry(), {i: past for i in ids})
    client.zadd(keys.jobs_index(), {i: past - 600 for i in ids})
    assert IndexTrim(client).trim([]) >= len(ids)
    assert client.zmscore(keys.index_expiry(), ids) == [None] * len(ids)
    assert client.zmscore(keys.jobs_index(), ids) == [None] * len(ids)
