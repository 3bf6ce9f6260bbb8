"""Group commit (app/group_commit.py): concurrent Lua steps of one web process
share a round trip, and each caller still gets its own reply, its own error,
and nothing before its own step ran, on a real redis-server."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.group_commit import GroupCommitRedis
from tests.support.fast import history, put_hook, send
from workers.settings import Settings

ECHO = "redis.call('RPUSH', KEYS[1], ARGV[1]) return ARGV[1]"
FAILS_ON_BAD = "if ARGV[1] == 'bad' then return redis.error_reply('bad input') end return ARGV[1]"
QUEUED = 10


def _hold_first(client: GroupCommitRedis, queued: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's next round trip waits until ``queued`` more calls queued
    behind it (so that they must go together, whatever the threads' timing;
    a minute at most, should fewer ever come)."""
    send_ = client._send
    first = client.round_trips

    def send_when_queued(calls: list[Any]) -> None:
        deadline = time.monotonic() + 60
        while client.round_trips == first and len(client._queue) < queued:
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        send_(calls)

    monkeypatch.setattr(client, "_send", send_when_queued)


def _held_client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> GroupCommitRedis:
    client = GroupCommitRedis(redis.Redis.from_url(settings.redis_url))
    _hold_first(client, QUEUED, monkeypatch)
    return client


def _run_all(work: Any, count: int) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return [f.result() for f in [pool.submit(work, n) for n in range(count)]]


def test_calls_queued_behind_one_on_the_wire_go_in_one_round_trip(
    fast_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _held_client(fast_settings, monkeypatch)
    client.delete("group-commit:log")
    echo = client.register_script(ECHO)
    client.script_load(ECHO)
    replies = _run_all(lambda n: echo(keys=["group-commit:log"], args=[f"call-{n}"]), QUEUED + 1)
    assert replies == [f"call-{n}".encode() for n in range(QUEUED + 1)]  # each its own
    assert client.round_trips == 2  # the first alone, then the other ten together
    stored = client.lrange("group-commit:log", 0, -1)
    assert sorted(stored) == sorted(replies)  # every step ran, once


def test_an_error_reply_is_its_own_callers_only(
    fast_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _held_client(fast_settings, monkeypatch)
    step = client.register_script(FAILS_ON_BAD)
    client.script_flush()  # the group meets NOSCRIPT: each caller loads it again

    def call(n: int) -> bytes | str:
        try:
            return step(keys=[], args=["bad" if n == 3 else f"ok-{n}"])
        except redis.ResponseError as exc:
            return str(exc)

    replies = _run_all(call, QUEUED + 1)
    assert replies[3] == "bad input"
    assert [r for n, r in enumerate(replies) if n != 3] == [
        f"ok-{n}".encode() for n in range(QUEUED + 1) if n != 3
    ]


def test_an_unreachable_redis_fails_each_call_and_the_next_one_is_sent() -> None:
    no_retry = Retry(NoBackoff(), 0)  # redis-py's default retries with backoff: ~7 s
    client = GroupCommitRedis(redis.Redis(port=1, socket_connect_timeout=0.2, retry=no_retry))
    for _ in range(2):  # the second is not stuck behind the failed first
        with pytest.raises(redis.ConnectionError):
            client.evalsha("0" * 40, 0)
    assert client.round_trips == 2


def test_concurrent_events_and_retries_each_get_their_own_job(
    flask_app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    hook_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fresh events and retries of earlier ones (an idempotency key), sent at
    once: each fresh one is its own stored job, each retry answers with its
    original's job, whichever round trip their CREATEs shared."""
    put_hook(client, admin, hook_id, script="null")
    originals = {
        f"key-{n}": send(
            client, hook_id, data=b"original %d" % n, headers={"webhook-id": f"key-{n}"}
        )
        for n in range(4)
    }

    def event(n: int) -> tuple[int, Any]:
        web = flask_app.test_client()
        if n % 2:
            key = f"key-{n % 4}"
            answer = send(web, hook_id, data=b"original %d" % (n % 4), headers={"webhook-id": key})
            return n, (answer.status_code, answer.json["jobId"], originals[key].json["jobId"])
        answer = send(web, hook_id, data=b"fresh %d" % n)
        return n, (answer.status_code, answer.json["jobId"], None)

    grouped = flask_app.extensions["hooklet"].grouped
    before = grouped.round_trips
    _hold_first(grouped, 23, monkeypatch)
    answers = dict(_run_all(event, 24))
    assert grouped.round_trips - before == 2  # one CREATE, then the 23 others together
    fresh = {n: a for n, a in answers.items() if a[2] is None}
    assert all(status == 202 for status, _, _ in fresh.values())
    assert len({job for _, job, _ in fresh.values()}) == len(fresh)
    for status, job, original in (a for a in answers.values() if a[2] is not None):
        assert (status, job) == (200, original)
    stored = {entry["jobId"] for entry in history(client, admin, hook_id)}
    assert stored == {job for _, job, _ in fresh.values()} | {
        answer.json["jobId"] for answer in originals.values()
    }
    for _, job_id, _ in fresh.values():
        assert client.get(f"/jobs/{job_id}").status_code == 200


def test_a_sync_events_create_is_sent_at_once_not_grouped(
    flask_app: Flask, client: FlaskClient, admin: dict[str, str], hook_id: str
) -> None:
    """A sync event's CREATE goes straight to Redis (its caller then waits for
    the run anyway); only async events' CREATEs are grouped."""
    put_hook(client, admin, hook_id, mode="sync", script="null", limits={"waitMs": 1})
    grouped = flask_app.extensions["hooklet"].grouped
    before = grouped.round_trips
    answer = send(client, hook_id, data=b"sync")
    assert answer.status_code == 202  # no worker here: stored, not yet run
    assert client.get(answer.headers["Location"]).status_code == 200
    assert grouped.round_trips == before


class _Stopped(Exception):
    """What a caller's wait is stopped with (as a greenlet killed at a stop)."""


def test_a_caller_stopped_while_chosen_to_send_hands_the_group_on(
    fast_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller woken to send the next group but stopped at that moment: its
    step is never sent, and the next queued call sends the group instead of
    every later call waiting for ever."""
    client = GroupCommitRedis(redis.Redis.from_url(fast_settings.redis_url))
    client.delete("group-commit:stopped")
    echo = client.register_script(ECHO)
    client.script_load(ECHO)
    _hold_first(client, 2, monkeypatch)
    made: list[threading.Event] = []

    class StoppedOnWake(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            super().wait(timeout)
            if self is made[0]:
                raise _Stopped
            return True

    def event() -> threading.Event:
        made.append(StoppedOnWake())
        return made[-1]

    monkeypatch.setattr("app.group_commit.Event", event)

    def call(name: str) -> bytes | str:
        try:
            return echo(keys=["group-commit:stopped"], args=[name])
        except _Stopped:
            return "stopped"

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        first = pool.submit(call, "first")
        while not client._sending:
            time.sleep(0.005)  # the first call is on its way (held)
        stopped = pool.submit(call, "stopped-caller")
        while len(client._queue) < 1:
            time.sleep(0.005)
        third = pool.submit(call, "third")
        replies = [first.result(60), stopped.result(60), third.result(60)]
    assert replies == [b"first", "stopped", b"third"]
    assert call("later") == b"later"  # not stuck behind the stopped caller
    assert client.lrange("group-commit:stopped", 0, -1) == [b"first", b"third", b"later"]
