"""A worker node stopped warmly under a flood exits by itself within the
window supervisord gives it (``STOP_WAIT_S``), having finished what it
began: no job is left running, and every accepted event ends once, after
the node comes back. A child that ran a task its node had forgotten at the
stop used to wait 30 s for its node to read its result (``kombu_fixes``)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scripts.supervisor_conf import STOP_WAIT_S
from tests.support.payloads import github_push
from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from workers.store import keys

pytestmark = pytest.mark.stack

ECHO = "(async () => ({ body: new Uint8Array(context.body) }))();"
STOPS = 4  # the lost result came about 1 stop in 5: a few stops per run


@pytest.fixture
def flood_stack(tmp_path: Path) -> Iterator[tuple[RedisServer, dict[str, str], Api]]:
    server = RedisServer(tmp_path).start()
    env = hooklet_env(server.url)
    web = Web(env, tmp_path).start()
    yield server, env, Api(web.url)
    web.stop()
    server.stop()


def flood_then_stop(api: Api, hook_id: str, worker: Worker, events: list[bytes]) -> list[str]:
    """Send events from two threads; once a few hundred are in, stop the node
    warmly (SIGTERM) and wait for it as supervisord would. Returns the ids
    of the events accepted; asserts that the node stopped by itself."""
    stop_sending = threading.Event()
    sent: list[str] = []

    def flood() -> None:
        while not stop_sending.is_set():
            answer = api.send(hook_id, data=events[len(sent) % len(events)])
            assert answer.status_code == 202, answer.text
            sent.append(answer.json()["jobId"])

    with ThreadPoolExecutor(2) as senders:
        floods = [senders.submit(flood) for _ in range(2)]
        wait_until(lambda: len(sent) > 300, timeout_s=30, what="a flood")
        worker.proc.terminate()  # SIGTERM: Celery's warm shutdown
        try:
            returncode = worker.proc.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            worker.stop(timeout_s=0)  # SIGKILL, as supervisord would
            returncode = worker.proc.returncode
        finally:
            stop_sending.set()
            for sender in floods:
                sender.result()
    assert returncode == 0, f"the node did not stop by itself within {STOP_WAIT_S} s"
    return sent


def test_a_loaded_node_stops_warmly_within_its_window_and_finishes_what_it_began(
    flood_stack, tmp_path: Path, hook_id: str
) -> None:
    server, env, api = flood_stack
    redis = server.client()
    api.put_hook(hook_id, script=ECHO, requestsToTrack=10)
    events = [github_push(25_000, seed=seed) for seed in range(16)]
    accepted: list[str] = []
    for _ in range(STOPS):
        worker = Worker(env, tmp_path, concurrency=2).start()
        try:
            accepted += flood_then_stop(api, hook_id, worker, events)
        finally:
            worker.stop(timeout_s=0)  # stopped already, unless the flood failed
        assert redis.zcard(keys.running()) == 0  # what it began, it finished
    worker = Worker(env, tmp_path, concurrency=2).start()
    try:

        def statuses() -> list[tuple[bytes | None, bytes | None]]:
            with redis.pipeline(transaction=False) as pipe:
                for job_id in accepted:
                    pipe.hmget(keys.job(job_id), "status", "attempts")
                return [tuple(fields) for fields in pipe.execute()]

        wait_until(
            lambda: all(status == b"succeeded" for status, _ in statuses()),
            timeout_s=120,
            interval_s=0.5,
            what="every accepted event to run",
        )
        assert {attempts for _, attempts in statuses()} == {b"1"}  # none ran twice
    finally:
        worker.stop()
