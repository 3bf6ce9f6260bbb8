"""Per-key ordering in the job store (issue 24): CREATE queues a key's job
only while the key is free, FINISH passes it on (or blocks it), a resume
unblocks it; ordered callbacks wait for the key's earlier one. Against a
real redis-server; whole-stack runs are tests/e2e/test_ordering.py."""

from __future__ import annotations

import time

from tests.support.stack import RedisServer
from workers.queue.names import RUN_SCRIPT
from workers.store import keys
from workers.store.deliveries import DeliveryStore
from workers.store.jobs.records import DeliveryStatus, EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import Created, Extras, JobStore, Lane, TakeFrom
from workers.store.ordering.store import OrderingStore

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
QUEUE = "test:queue"
OK = Outcome(JobStatus.SUCCEEDED, 1.0, [], result={"statusCode": 200})
FAILED = Outcome(JobStatus.FAILED, 1.0, [], error="boom")


def _create(store: JobStore, hook: str, key: str | None, block: bool = False, **kw: str) -> str:
    job_id = new_job_id()
    also = Extras(order_key=key, order_block=block, order_takeover=kw.get("takeover"))
    created, _ = store.create(
        job_id, hook, 1, EVENT, 0, (QUEUE, job_id.encode()), also=also, lane=Lane(hook, 100)
    )
    assert created is Created.OK
    return job_id


def _lane(client, hook: str) -> list[str]:  # noqa: ANN001
    return [j.decode() for j in client.lrange(keys.pending(hook), 0, -1)]


def _run(store: JobStore, job_id: str) -> None:
    take = TakeFrom("test:sync", QUEUE, RUN_SCRIPT, "worker", 1000, time.time() + 60)
    claimed = store.claim(job_id, take)
    assert claimed is not None and claimed.job_id == job_id


def test_a_keys_next_job_joins_the_lane_only_when_the_one_before_ended(
    own_redis: RedisServer, hook_id: str
) -> None:
    client = own_redis.client()
    client.flushdb()  # no other test's job in the rotation
    store = JobStore(client, retention_s=600)
    a1, b1, a2, a3 = (_create(store, hook_id, k) for k in ("a", "b", "a", "a"))
    unordered = _create(store, hook_id, None)
    assert _lane(client, hook_id) == [a1, b1, unordered]
    assert client.llen(QUEUE) == 3  # a waiting job brings its token along later
    assert client.hget(keys.job(a2), "status") == b"queued"
    assert client.hget(keys.ordering_waiting(), hook_id) == b"2"

    _run(store, a1)
    assert store.finish(a1, FAILED).recorded  # onFailure skip: a failure passes the key on
    assert _lane(client, hook_id) == [b1, unordered, a2]
    assert client.lrange(QUEUE, 0, 0) == [a2.encode()]  # its token, pushed as it is released
    _run(store, b1)
    _run(store, unordered)
    _run(store, a2)
    assert store.finish(a2, OK).recorded
    assert not store.finish(a2, OK).recorded  # once: a3 is not released twice
    assert _lane(client, hook_id) == [a3]
    _run(store, a3)
    store.finish(a3, OK)
    # The key is free again and its records are gone.
    assert client.exists(keys.ordering(hook_id, keys.ordering_key_id("a"))) == 0
    assert client.hget(keys.ordering_waiting(), hook_id) == b"0"


def test_a_blocking_failure_holds_the_key_until_resumed(
    own_redis: RedisServer, hook_id: str
) -> None:
    client = own_redis.client()
    client.flushdb()  # no other test's job in the rotation
    store, ordering = JobStore(client, retention_s=600), OrderingStore(client)
    first = _create(store, hook_id, "k/1", block=True)
    second = _create(store, hook_id, "k/1", block=True)
    _run(store, first)
    store.finish(first, FAILED)
    assert _lane(client, hook_id) == []
    assert client.hget(keys.job(second), "blockedBy") == first.encode()
    third = _create(store, hook_id, "k/1", block=True)
    assert client.hget(keys.job(third), "blockedBy") == first.encode()
    [blocked], _ = ordering.blocked(hook_id)
    assert (blocked.key, blocked.blocked_by, blocked.waiting) == ("k/1", first, 2)
    assert ordering.blocked_counts([hook_id]) == {hook_id: 1}

    # A rerun of the failed job takes the key over, ahead of the others.
    rerun = _create(store, hook_id, "k/1", block=True, takeover=first)
    assert _lane(client, hook_id) == [rerun]
    assert client.hget(keys.job(second), "blockedBy") is None
    assert ordering.blocked(hook_id) == ([], None)
    job_id = new_job_id()
    late = Extras(order_key="k/1", order_block=True, order_takeover=first)
    refused, _ = store.create(job_id, hook_id, 1, EVENT, 0, (QUEUE, b"m"), also=late,
                              lane=Lane(hook_id, 100))  # fmt: skip
    assert refused is Created.NOT_BLOCKED  # no longer blocked by it: nothing written
    assert client.exists(keys.job(job_id)) == 0

    _run(store, rerun)
    store.finish(rerun, FAILED)  # fails again: blocked by the rerun now
    assert ordering.holder(hook_id, "k/1") == (rerun, True)
    assert ordering.resume_skipping(hook_id, "k/1") == (True, second)
    assert _lane(client, hook_id) == [second]
    assert ordering.resume_skipping(hook_id, "k/1") == (False, second)  # not blocked


def test_waiting_jobs_count_against_the_lanes_cap(own_redis: RedisServer, hook_id: str) -> None:
    client = own_redis.client()
    client.flushdb()  # no other test's job in the rotation
    store = JobStore(client, retention_s=600)
    lane = Lane(hook_id, 3)
    for _ in range(3):
        created, _ = store.create(new_job_id(), hook_id, 1, EVENT, 0, (QUEUE, b"m"),
                                  also=Extras(order_key="x"), lane=lane)  # fmt: skip
        assert created is Created.OK
    full, _ = store.create(new_job_id(), hook_id, 1, EVENT, 0, (QUEUE, b"m"),
                           also=Extras(order_key="x"), lane=lane)  # fmt: skip
    assert full is Created.QUEUE_FULL


def test_a_keys_callbacks_go_out_one_after_the_other(own_redis: RedisServer, hook_id: str) -> None:
    client = own_redis.client()
    client.flushdb()  # no other test's job in the rotation
    store, deliveries = JobStore(client, retention_s=600), DeliveryStore(client, 600)
    callbacks = f"test:callbacks:{hook_id}"
    first, second = _create(store, hook_id, "c"), _create(store, hook_id, "c")
    other = _create(store, hook_id, "d")
    for job_id in (first, other):
        _run(store, job_id)
        store.finish(job_id, OK, then_push=(callbacks, job_id.encode()))
    _run(store, second)
    store.finish(second, OK, then_push=(callbacks, second.encode()))
    assert client.lrange(callbacks, 0, -1) == [other.encode(), first.encode()]
    # A retry keeps the turn; the end of the delivery passes it on.
    deliveries.record(first, {"outcome": "pending"}, DeliveryStatus.PENDING, time.time() + 60)
    assert client.llen(callbacks) == 2
    deliveries.record(first, {"outcome": "failed"}, DeliveryStatus.FAILED, None)
    assert client.lrange(callbacks, 0, 0) == [second.encode()]
    deliveries.record(second, {"outcome": "succeeded"}, DeliveryStatus.SUCCEEDED, None)
    assert client.exists(keys.ordering(hook_id, keys.ordering_key_id("c"))) == 0


def test_a_deleted_hooks_waiting_jobs_join_its_lane_and_its_keys_go(
    own_redis: RedisServer, hook_id: str
) -> None:
    """Deleting a hook (``purge_hook``) leaves no job stuck behind a blocked
    key: each joins the lane, to end as hook_gone as other queued jobs do."""
    client = own_redis.client()
    client.flushdb()
    store = JobStore(client, retention_s=600)
    blocker = _create(store, hook_id, "b", block=True)
    behind = [_create(store, hook_id, "b", block=True) for _ in range(2)]
    other = [_create(store, hook_id, "o") for _ in range(2)]
    _run(store, blocker)
    store.finish(blocker, FAILED)
    assert OrderingStore(client).release_hook(hook_id) == 2
    lane = _lane(client, hook_id)  # the waiting ones after, a key's in its order
    assert lane[0] == other[0] and sorted(lane[1:]) == sorted([*behind, other[1]])
    assert lane.index(behind[0]) < lane.index(behind[1])
    assert [k for k in client.scan_iter(match=keys.ordering(hook_id, "") + "*")] == []
    assert client.exists(keys.ordering_blocked(hook_id)) == 0
    assert client.hget(keys.ordering_waiting(), hook_id) is None
    assert client.hget(keys.job(behind[0]), "blockedBy") is None


def test_a_redelivered_callback_still_waiting_its_turn_keeps_its_place(
    own_redis: RedisServer, hook_id: str
) -> None:
    """The console's redeliver of a callback waiting behind its key's earlier
    one: sent in turn, once, and the turn passes on after it."""
    client = own_redis.client()
    client.flushdb()  # no other test's job in the rotation
    store, deliveries = JobStore(client, retention_s=600), DeliveryStore(client, 600)
    callbacks = f"test:callbacks:{hook_id}"
    first, second, third = (_create(store, hook_id, "c") for _ in range(3))
    for job_id in (first, second, third):
        _run(store, job_id)
        store.finish(job_id, OK, then_push=(callbacks, job_id.encode()))
    assert client.lrange(callbacks, 0, -1) == [first.encode()]
    assert deliveries.queue(second, (callbacks, b"redelivered"))
    assert client.lrange(callbacks, 0, -1) == [first.encode()]  # not ahead of the first
    deliveries.record(first, {"outcome": "succeeded"}, DeliveryStatus.SUCCEEDED, None)
    assert client.lrange(callbacks, 0, 0) == [second.encode()]
    deliveries.record(second, {"outcome": "succeeded"}, DeliveryStatus.SUCCEEDED, None)
    assert client.lrange(callbacks, 0, 0) == [third.encode()]


def test_a_callback_waiting_for_its_turn_outlives_the_hooks_retention(
    own_redis: RedisServer, hook_id: str
) -> None:
    """A key's earlier callback retried past the retention: the later job
    and its callback are kept until sent, then kept the retention from then."""
    client = own_redis.client()
    client.flushdb()  # no other test's job in the rotation
    store, deliveries = JobStore(client, retention_s=1), DeliveryStore(client, 1)
    callbacks = f"test:callbacks:{hook_id}"
    first, second = _create(store, hook_id, "c"), _create(store, hook_id, "c")
    for job_id in (first, second):
        _run(store, job_id)
        store.finish(job_id, OK, then_push=(callbacks, job_id.encode()))
    deliveries.record(first, {"outcome": "pending"}, DeliveryStatus.PENDING, time.time() + 5)
    time.sleep(1.5)  # past the retention: only the callback keeps the job
    assert store.get(second) is not None
    deliveries.record(first, {"outcome": "succeeded"}, DeliveryStatus.SUCCEEDED, None)
    assert client.lrange(callbacks, 0, 0) == [second.encode()]  # its turn: sent
    deliveries.record(second, {"outcome": "succeeded"}, DeliveryStatus.SUCCEEDED, None)
    assert 0 < client.pttl(keys.job(second)) <= 1000  # the retention, from its delivery's end
