"""Errors are named for what happened: malformed input is a 400 naming the
field; only a connection to Redis that failed is "Redis is unreachable"
(503, Retry-After); any other Redis error, a Lua bug included, is a 500
logged with its traceback; a refused (not replicated) sync event gives its
slot back at once."""

from __future__ import annotations

import dataclasses
import logging

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from app import services
from app.dispatcher import Dispatcher
from tests.support.fast import assert_error, put_hook, send
from workers.errors import NotReplicated
from workers.settings import Settings
from workers.store import keys
from workers.store.jobs.create import CreateStep
from workers.store.jobs.records import EventRequest

Admin = dict[str, str]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=abc", "cursor"),
        ("cursor=nan:abc", "cursor"),
        ("cursor=12.5", "cursor"),
        ("since=nan", "since"),
        ("since=inf", "since"),
        ("until=-inf", "until"),
        ("limit=1e999", "limit"),
    ],
)
def test_a_malformed_search_is_a_400_naming_the_field(
    client: FlaskClient, admin: Admin, query: str, field: str
) -> None:
    error = assert_error(client.get(f"/api/jobs?{query}", headers=admin), 400, "invalid_request")
    assert error["message"].startswith(f"{field}:")


@pytest.mark.parametrize("cursor", [5, ["1:a"], "abc", "inf:abc"])
def test_a_malformed_bulk_cursor_is_a_400(client: FlaskClient, admin: Admin, cursor) -> None:
    body = {"filter": {"status": "failed"}, "cursor": cursor}
    error = assert_error(
        client.post("/api/jobs/replay", json=body, headers=admin), 400, "invalid_request"
    )
    assert error["message"].startswith("cursor:")


def test_a_cursor_handed_out_pages_on(client: FlaskClient, admin: Admin, hook_id: str) -> None:
    put_hook(client, admin, hook_id, script="null")
    for _ in range(3):
        assert send(client, hook_id).status_code == 202
    first = client.get(f"/api/jobs?hook={hook_id}&limit=2", headers=admin).json
    assert first["nextCursor"]
    rest = client.get(
        f"/api/jobs?hook={hook_id}&limit=2&cursor={first['nextCursor']}", headers=admin
    )
    assert rest.status_code == 200 and len(rest.json["jobs"]) == 1


@pytest.fixture
def lua_bug(flask_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job store's CREATE step replaced by a script with a bug, run by
    the real Redis."""
    with flask_app.app_context():
        writer = services.dispatcher().writer
    for jobs in (writer.jobs, writer.grouped):  # sync events' and async events' (grouped)
        buggy = CreateStep(jobs._redis, "return redis.call('HSET', job_key)")  # wrong arguments
        monkeypatch.setattr(jobs, "_create", buggy)


def test_a_lua_bug_is_a_500_logged_not_an_outage(
    client: FlaskClient,
    admin: Admin,
    hook_id: str,
    lua_bug: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    put_hook(client, admin, hook_id, script="null")
    with caplog.at_level(logging.ERROR, logger="hooklet.web"):
        response = send(client, hook_id)
    assert_error(response, 500, "internal")
    assert "Retry-After" not in response.headers
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and isinstance(logged[0].exc_info[1], redis.ResponseError)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (redis.ConnectionError("Connection refused"), 503, "unavailable"),
        (redis.TimeoutError("Timeout reading from socket"), 503, "unavailable"),
        (redis.ResponseError("ERR wrong number of arguments"), 500, "internal"),
        (redis.DataError("Invalid input"), 500, "internal"),
    ],
)
def test_only_a_failed_connection_is_redis_unreachable(
    client: FlaskClient,
    admin: Admin,
    monkeypatch: pytest.MonkeyPatch,
    error: redis.RedisError,
    status: int,
    code: str,
) -> None:
    def fail(*_: object, **__: object) -> None:
        raise error

    monkeypatch.setattr("app.jobs_api.search", fail)
    response = client.get("/api/jobs", headers=admin)
    assert_error(response, status, code)
    assert ("Retry-After" in response.headers) is (status == 503)


def test_a_sync_event_no_replica_confirmed_gives_its_slot_back(
    client: FlaskClient, admin: Admin, fast_settings: Settings, hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script="null", mode="sync", limits={"maxConcurrent": 1})
    settings = dataclasses.replace(fast_settings, redis_wait_replicas=1, redis_wait_timeout_ms=10)
    dispatcher = Dispatcher(settings)
    hook = dispatcher.hooks.get(hook_id)
    request = EventRequest("POST", "/", None, {}, {}, "127.0.0.1", b"{}")
    for _ in range(2):  # the second would find the only slot taken
        with pytest.raises(NotReplicated):
            dispatcher.submit(hook, request, take_slot=True)
    assert dispatcher.redis.zcard(keys.in_flight(hook_id)) == 0
