"""Isolation under load, caused with real processes: slow sync waits do not
hold up the async intake, an async backlog does not hold up sync answers,
and a flooding hook does not hold up another hook's events."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import requests

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from workers.store import keys

pytestmark = pytest.mark.stack

TRIVIAL = "(async () => ({ body: 'ok' }))();"
BUSY_20MS = (
    "(() => { const end = Date.now() + 20; while (Date.now() < end) {} return { body: 'a' }; })()"
)


@contextmanager
def stack(tmp_path: Path, **settings) -> Iterator[tuple[Api, redis.Redis, Callable[[], Worker]]]:
    """Redis and web now; one worker node (one child) when the test says."""
    server = RedisServer(tmp_path).start()
    env = hooklet_env(server.url, **settings)
    web = Web(env, tmp_path).start()
    workers: list[Worker] = []

    def start_worker() -> Worker:
        workers.append(Worker(env, tmp_path, concurrency=1).start())
        return workers[-1]

    try:
        yield Api(web.url), server.client(), start_worker
    finally:
        for worker in workers:
            worker.stop(signal.SIGKILL)
        web.stop()
        server.stop()


def test_async_events_are_accepted_while_sync_requests_wait(tmp_path, hook_id: str) -> None:
    # 40 sync requests wait (more than the 2 x 16 threads the web had before
    # gevent): no worker runs yet, so every one of them keeps waiting.
    with stack(tmp_path) as (api, client, start_worker):
        api.put_hook(
            hook_id + "-sync",
            mode="sync",
            script="(async () => ({ body: 'answered' }))();",
            limits={"waitMs": 60_000, "maxConcurrent": 100},
        )
        api.put_hook(hook_id, script=TRIVIAL)
        with ThreadPoolExecutor(40) as pool:
            waits = [
                pool.submit(requests.post, f"{api.base}/h/{hook_id}-sync", timeout=120)
                for _ in range(40)
            ]
            queued = keys.pending_sync(hook_id + "-sync")
            wait_until(lambda: client.llen(queued) == 40, what="40 sync waits")
            accepted = [api.send(hook_id).status_code for _ in range(20)]
            # Every 202 arrived while all 40 sync requests were still waiting.
            assert accepted == [202] * 20
            assert not any(w.done() for w in waits)
            start_worker()
            answers = [w.result() for w in waits]
        assert {(a.status_code, a.text) for a in answers} == {(200, "answered")}


def test_sync_answers_do_not_wait_for_an_async_backlog(tmp_path, hook_id: str) -> None:
    with stack(tmp_path) as (api, client, start_worker):
        api.put_hook(hook_id, script=BUSY_20MS)
        api.put_hook(
            hook_id + "-sync", mode="sync", script="({ body: 'sync' })", limits={"waitMs": 60_000}
        )
        for _ in range(300):
            assert api.send(hook_id).status_code == 202
        start_worker()
        for _ in range(5):
            answer = api.send(hook_id + "-sync", timeout=90)
            # The script's own answer (not the 202 fallback), while the
            # async backlog is still there.
            assert (answer.status_code, answer.text) == (200, "sync")
            assert client.llen(keys.pending(hook_id)) > 0


def test_a_flooding_hook_does_not_delay_another_hooks_event(tmp_path, hook_id: str) -> None:
    with stack(tmp_path) as (api, client, start_worker):
        flood, other = hook_id + "-a", hook_id + "-b"
        api.put_hook(flood, script=BUSY_20MS)
        api.put_hook(other, script=TRIVIAL)
        flood_ids = [api.send(flood).json()["jobId"] for _ in range(200)]
        b_id = api.send(other).json()["jobId"]
        start_worker()
        b_job = api.wait_job(b_id, timeout_s=60)
        assert b_job["status"] == "succeeded"
        # B's job started before A's backlog drained ...
        assert client.llen(keys.pending(flood)) > 0
        jobs = [api.wait_job(j, timeout_s=120) for j in flood_ids]
        assert b_job["startedAt"] < max(j["startedAt"] for j in jobs)
        # ... and A's events still ran in the order they arrived (one child).
        started = [j["startedAt"] for j in jobs]
        assert started == sorted(started)


def test_sync_hooks_take_turns_too(tmp_path, hook_id: str) -> None:
    slow = "(async () => { await new Promise(r => setTimeout(r, 1000)); return { body: 's' }; })()"
    with stack(tmp_path) as (api, client, start_worker):
        start_worker()
        api.put_hook(hook_id + "-slow", mode="sync", script=slow, limits={"waitMs": 60_000})
        api.put_hook(hook_id, mode="sync", script="({ body: 'quick' })")
        with ThreadPoolExecutor(6) as pool:
            waits = [
                pool.submit(requests.post, f"{api.base}/h/{hook_id}-slow", timeout=120)
                for _ in range(6)
            ]
            wait_until(
                lambda: client.llen(keys.pending_sync(hook_id + "-slow")) >= 4,
                what="the slow hook's requests to queue up",
            )
            answer = api.send(hook_id, timeout=60)
            # Answered after at most the slow job running now, not all six.
            assert (answer.status_code, answer.text) == (200, "quick")
            assert sum(not w.done() for w in waits) >= 3
            assert all(w.result().status_code == 200 for w in waits)
