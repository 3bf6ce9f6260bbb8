"""Ordered events and batched takes (issues 24 and 21): a child holding
several jobs records an ordered job's outcome as soon as its run ends, so
the key's next event is free for another child while this one runs the
other jobs it holds (held back, it waited for them: two keys on two idle
children then ran one after the other on one child)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
import redis
from flask.testing import FlaskClient

from tests.support.fast import put_hook, send
from workers.queue.executor import Executor
from workers.settings import Settings
from workers.store import keys

WORKER = "node/1"
SCRIPT = "({ body: 'ok' })"  # reaches nothing outside: its outcome could be held back


@pytest.fixture
def batching(fast_settings: Settings) -> Iterator[Executor]:
    executor = Executor(dataclasses.replace(fast_settings, take_batch=3))
    yield executor
    executor.pool.clear()


def test_an_ordered_jobs_next_event_is_free_while_its_child_runs_the_others_it_holds(
    batching: Executor, client: FlaskClient, admin: dict[str, str], hook_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    db = redis.Redis.from_url(batching.settings.redis_url)
    # Only this test's jobs take turns (other tests leave jobs queued here).
    db.delete(keys.celery_queue("scripts"), keys.ready_hooks(), keys.ready_sync_hooks())
    put_hook(client, admin, hook_id, script=SCRIPT, ordering={"key": "header:X-Key"})
    with client.application.app_context():
        c1, a1, b1, a2 = (
            send(client, hook_id, headers={"X-Key": key}).json["jobId"] for key in "caba"
        )
    db.rpop(keys.celery_queue("scripts"))  # c1's own token: Celery's
    in_lane_when_b1_ran: list[bytes] = []
    run = batching.runner.run

    def watching(spec, request, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if request.headers.get("x-key") == "b":
            in_lane_when_b1_ran.extend(db.lrange(keys.pending(hook_id), 0, -1))
        return run(spec, request, *args, **kwargs)

    monkeypatch.setattr(batching.runner, "run", watching)
    batch = batching.batch(WORKER, time.monotonic() + 30, time.time() + 600)
    # After c1, one step takes a1 and b1 together; a2 waits for its key.
    ran = batching.run(c1, WORKER, batch)
    assert ran is not None and ran.jobs == 4 and not ran.failures
    # a1 had ended and passed its key on: another child could run a2 beside b1.
    assert in_lane_when_b1_ran == [a2.encode()]
    jobs = [client.get(f"/jobs/{j}").json for j in (a1, b1, a2)]
    assert [j["status"] for j in jobs] == ["succeeded"] * 3
    assert jobs[2]["startedAt"] >= jobs[0]["finishedAt"]
