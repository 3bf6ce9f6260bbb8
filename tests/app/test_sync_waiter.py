"""The web process's one waiter for every sync wait, against a real
redis-server: woken by the job store's publish, never missing a job that
ended before its wait began, and timing out otherwise."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.sync_waiter import SyncWaiter
from tests.support.stack import RedisServer, wait_until
from workers.store import keys
from workers.store.jobs import answer


@pytest.fixture
def waiter(redis_server: RedisServer) -> Iterator[tuple[SyncWaiter, object]]:
    client = redis_server.client()
    yield SyncWaiter(client), client


def test_a_wait_wakes_on_the_publish_and_holds_no_connection(waiter) -> None:
    sync_waiter, client = waiter
    ids = [f"job-{n}" for n in range(50)]
    for job_id in ids:
        sync_waiter.expect(job_id)
    results: dict[str, bool] = {}
    connections_before = client.info("clients")["connected_clients"]

    def wait(job_id: str) -> None:
        results[job_id] = sync_waiter.wait(job_id, 30, lambda: False)

    threads = [threading.Thread(target=wait, args=(job_id,)) for job_id in ids]
    for thread in threads:
        thread.start()
    wait_until(lambda: sync_waiter._subscribed, what="the listener")  # noqa: SLF001
    waiting = client.info("clients")["connected_clients"] - connections_before
    assert waiting <= 2  # one listener, not one connection per wait
    for job_id in ids:
        client.publish(keys.sync_done_channel(), job_id)
    for thread in threads:
        thread.join(30)
    assert results == {job_id: True for job_id in ids}


def test_a_job_that_ended_before_the_wait_is_not_missed(waiter) -> None:
    sync_waiter, _ = waiter
    assert sync_waiter.wait("ended-already", 30, lambda: True)


def test_a_wait_times_out(waiter) -> None:
    sync_waiter, _ = waiter
    sync_waiter.expect("never")
    assert not sync_waiter.wait("never", 0.3, lambda: False)


def test_a_copy_that_stops_waiting_leaves_the_originals_wait(waiter) -> None:
    # Copies of a sync request (one idempotency key) look at the original's
    # job without waiting; the original must still be woken by its publish,
    # not left to its full wait.
    sync_waiter, client = waiter
    sync_waiter.expect("original")
    result: list[bool] = []
    original = threading.Thread(
        target=lambda: result.append(sync_waiter.wait("original", 30, lambda: False))
    )
    original.start()
    wait_until(lambda: sync_waiter._subscribed, what="the listener")  # noqa: SLF001
    for _ in range(5):
        assert not sync_waiter.wait("original", 0, lambda: False)  # a copy, answered 202
    client.publish(keys.sync_done_channel(), "original")
    original.join(30)
    assert result == [True]


def test_the_waiter_returns_the_published_answer(waiter) -> None:
    """Issue 21 item 5: a sync job's end published with its answer wakes its
    wait with that answer (no read of the job); another job's is skipped."""
    waiter, client = waiter
    waiter.expect("job-1")
    got: list = []
    thread = threading.Thread(
        target=lambda: got.append(waiter.wait_answer("job-1", 30, lambda: False))
    )
    thread.start()
    wait_until(lambda: waiter._subscribed, what="the listener")  # noqa: SLF001
    fields = {b"status": b"failed", b"reason": b"timeout", b"error": b"too slow"}
    client.publish(keys.sync_answer_channel(), answer.encode("another", {b"status": b"x"}))
    client.publish(keys.sync_answer_channel(), answer.encode("job-1", fields))
    thread.join(30)
    assert got == [(True, fields)]
