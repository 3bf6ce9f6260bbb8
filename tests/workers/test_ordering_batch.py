"""Ordered events and batched takes (issues 24 and 21), on a real redis-server
and real V8: an ordered job's outcome held back passes its key on late, so
it waits for the child's next take only behind runs guessed short
(``HOOKLET_ORDERED_HOLD_MS``, ``queue/held.py``). Behind a short run it
rides with the next take (one round trip for both outcomes and the take);
before a long run it is recorded first, so the key's next event is free for
another child while this one runs; a child that dies holding it gives it
back, and it runs again before the key's next event."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from tests.support.fast import put_hook, send
from workers.queue.child_watch import ChildWatch
from workers.queue.executor import Executor
from workers.settings import Settings
from workers.store import keys
from workers.store.jobs.records import new_job_id
from workers.store.lanes.batched import Batched
from workers.store.lanes.lane import TakeFrom

WORKER = "node/1"
PURE = "({ body: 'ok' })"  # reaches nothing outside: its outcome may be held back
LONG = "(async () => { await new Promise(r => setTimeout(r, 300)); return { body: 'ok' }; })()"
Admin = dict[str, str]


def executor(settings: Settings, hold_ms: float) -> Iterator[Executor]:
    batching = Executor(dataclasses.replace(settings, take_batch=3, ordered_hold_ms=hold_ms))
    yield batching
    batching.pool.clear()


@pytest.fixture
def holding(fast_settings: Settings) -> Iterator[Executor]:
    """Any run counts as short: the hold is a minute."""
    yield from executor(fast_settings, 60_000)


@pytest.fixture
def brief_hold(fast_settings: Settings) -> Iterator[Executor]:
    """The default hold (2 ms): a 300 ms run is long."""
    yield from executor(fast_settings, 2)


def only_these_jobs(batching: Executor) -> redis.Redis:
    db = redis.Redis.from_url(batching.settings.redis_url)
    # Only this test's jobs take turns (other tests leave jobs queued here).
    db.delete(keys.celery_queue("scripts"), keys.ready_hooks(), keys.ready_sync_hooks())
    return db


def run_token(batching: Executor, db: redis.Redis, token_job: str) -> int:
    """Run the task Celery would deliver for ``token_job``'s token (the
    child takes what follows it); returns how many jobs it ran."""
    assert db.rpop(keys.celery_queue("scripts"))  # its own token: Celery's
    batch = batching.batch(WORKER, time.monotonic() + 30, time.time() + 600)
    ran = batching.run(token_job, WORKER, batch)
    assert ran is not None and not ran.failures
    return ran.jobs


def queue_events(
    batching: Executor, db: redis.Redis, client: FlaskClient, admin: Admin, hook_id: str,
    next_script: str,
) -> tuple[str, str, str, str]:  # fmt: skip
    """Hooks ``-c`` (one event whose token starts the task), ``-o``
    (ordered by X-Key: a1, then a2 of the same key) and ``-n`` (one event,
    n1, after a warm-up run in this child that says how long its runs take:
    300 ms for ``LONG``, a long run).
    The task's one take after c1 holds a1 then n1; a2 waits for a1's key."""
    put_hook(client, admin, f"{hook_id}-c", script=PURE)
    put_hook(client, admin, f"{hook_id}-o", script=PURE, ordering={"key": "header:X-Key"})
    put_hook(client, admin, f"{hook_id}-n", script=next_script)
    with client.application.app_context():
        warm_up = send(client, f"{hook_id}-n").json["jobId"]
    assert run_token(batching, db, warm_up) == 1
    with client.application.app_context():
        c1 = send(client, f"{hook_id}-c").json["jobId"]
        a1 = send(client, f"{hook_id}-o", headers={"X-Key": "a"}).json["jobId"]
        n1 = send(client, f"{hook_id}-n").json["jobId"]
        a2 = send(client, f"{hook_id}-o", headers={"X-Key": "a"}).json["jobId"]
    return c1, a1, n1, a2


def watch_run_of(
    batching: Executor, monkeypatch: pytest.MonkeyPatch, hook: str, look: Any
) -> list[Any]:
    """``look()`` as ``hook``'s run begins; returns what it saw."""
    seen: list[Any] = []
    run = batching.runner.run

    def watching(spec, request, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if spec.hook_id == hook:
            seen.append(look())
        return run(spec, request, *args, **kwargs)

    monkeypatch.setattr(batching.runner, "run", watching)
    return seen


def count_round_trips(batching: Executor, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Each recording round trip: (outcomes recorded, jobs taken)."""
    trips: list[tuple] = []
    record = batching.batched.record

    def counting(recordings, where, count):  # noqa: ANN001, ANN202
        recorded, taken = record(recordings, where, count)
        trips.append((len(recordings), [t.job_id for t in taken]))
        return recorded, taken

    monkeypatch.setattr(batching.batched, "record", counting)
    return trips


def test_an_ordered_outcome_behind_a_short_run_rides_with_the_next_take(
    holding: Executor, client: FlaskClient, admin: Admin, hook_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    db = only_these_jobs(holding)
    c1, a1, n1, a2 = queue_events(holding, db, client, admin, hook_id, PURE)
    seen = watch_run_of(
        holding, monkeypatch, f"{hook_id}-n",
        lambda: (db.hget(keys.job(a1), "status"), db.lrange(keys.pending(f"{hook_id}-o"), 0, -1)),
    )  # fmt: skip
    trips = count_round_trips(holding, monkeypatch)
    assert run_token(holding, db, c1) == 4
    # While n1 ran, a1 had ended but was still running to the world: its key
    # had not passed on, a2 was not in its lane yet.
    assert seen == [(b"running", [])]
    # a1's and n1's outcomes went in one round trip, which took a2.
    assert trips[:3] == [(1, [a1, n1]), (2, [a2]), (1, [])]  # then a take finds none
    jobs = [client.get(f"/jobs/{j}").json for j in (a1, n1, a2)]
    assert [j["status"] for j in jobs] == ["succeeded"] * 3
    assert jobs[2]["startedAt"] >= jobs[0]["finishedAt"]


def test_an_ordered_outcome_is_recorded_before_a_long_run_begins(
    brief_hold: Executor, client: FlaskClient, admin: Admin, hook_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    db = only_these_jobs(brief_hold)
    c1, a1, n1, a2 = queue_events(brief_hold, db, client, admin, hook_id, LONG)
    seen = watch_run_of(
        brief_hold, monkeypatch, f"{hook_id}-n",
        lambda: (db.hget(keys.job(a1), "status"), db.lrange(keys.pending(f"{hook_id}-o"), 0, -1)),
    )  # fmt: skip
    trips = count_round_trips(brief_hold, monkeypatch)
    assert run_token(brief_hold, db, c1) == 4
    # a1 had passed its key on before n1 began: another child could run a2
    # beside n1 (two keys on two idle children never wait for one another).
    assert seen == [(b"succeeded", [a2.encode()])]
    assert trips[:4] == [(1, [a1, n1]), (1, []), (1, [a2]), (1, [])]
    jobs = [client.get(f"/jobs/{j}").json for j in (a1, n1, a2)]
    assert [j["status"] for j in jobs] == ["succeeded"] * 3
    assert jobs[2]["startedAt"] >= jobs[0]["finishedAt"]


def test_without_a_hold_an_ordered_outcome_never_waits(
    fast_settings: Settings, client: FlaskClient, admin: Admin, hook_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """``HOOKLET_ORDERED_HOLD_MS=0``: recorded as its run ends, even behind a
    short run; an unordered one beside it is still held back."""
    for batching in executor(fast_settings, 0):
        db = only_these_jobs(batching)
        c1, a1, n1, a2 = queue_events(batching, db, client, admin, hook_id, PURE)
        trips = count_round_trips(batching, monkeypatch)
        assert run_token(batching, db, c1) == 4
        assert trips[:4] == [(1, [a1, n1]), (1, []), (1, [a2]), (1, [])]


def test_a_child_dead_holding_an_ordered_outcome_reruns_it_before_its_keys_next(
    holding: Executor, client: FlaskClient, admin: Admin, hook_id: str
) -> None:
    """The child ran a1 (its outcome held back for its next take) and died
    under n1: a1 runs again, without the attempt it was given back, and
    ends before a2 of its key begins."""
    db = only_these_jobs(holding)
    c1, a1, n1, a2 = queue_events(holding, db, client, admin, hook_id, PURE)
    dead = "node@host/4242"
    take = TakeFrom(
        keys.celery_queue("scripts.sync"), keys.celery_queue("scripts"), "hooklet.run_script",
        dead, 1000, time.time() + 600,
    )  # fmt: skip
    assert db.rpop(keys.celery_queue("scripts"))  # c1's token, claimed below
    assert holding.jobs.claim(new_job_id(), take) is not None
    assert [t.job_id for t in Batched(db).take(take, 2)] == [a1, n1]
    assert ChildWatch(holding.settings, consumer=None).requeue_jobs_of(dead, ran=n1) == 3
    assert db.lrange(keys.pending(f"{hook_id}-o"), 0, -1) == [a1.encode()]  # a2 still waits
    assert run_token(holding, db, new_job_id()) == 4
    jobs = {j: client.get(f"/jobs/{j}").json for j in (a1, n1, a2)}
    assert [jobs[j]["status"] for j in (a1, n1, a2)] == ["succeeded"] * 3
    assert (jobs[a1]["attempts"], jobs[n1]["attempts"]) == (1, 2)
    assert jobs[a2]["startedAt"] >= jobs[a1]["finishedAt"]
