"""Ordered hooks in the fast layer (issue 24): the ``ordering`` block's
validation, the key each source reads, a missing key refused before
anything is stored, and blocked keys listed, gauged and resumed (with and
without skip) through the API, with scopes and audit. Runs are played by
the job store here (start, finish); tests/e2e/test_ordering.py has workers."""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import services
from tests.support.fast import assert_error, history, put_hook, send
from workers.store import keys
from workers.store.jobs.records import JobStatus, Outcome

SCRIPT = "(async () => ({ statusCode: 200 }))()"
BLOCKING = {"key": "header:X-Customer", "onFailure": "block"}


def _job(client: FlaskClient, job_id: str) -> dict:
    return client.get(f"/jobs/{job_id}").json


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"mode": "sync", "ordering": {"key": "path"}}, "ordering"),
        ({"ordering": {"key": "cookie:id"}}, "ordering.key"),
        ({"ordering": {"key": "header:"}}, "ordering.key"),
        ({"ordering": {"key": "json:a..b"}}, "ordering.key"),
        ({"ordering": {"key": "path", "onFailure": "retry"}}, "ordering.onFailure"),
        ({"ordering": {"key": "path", "missing": "drop"}}, "ordering.missing"),
        ({"ordering": {"key": "path", "extra": 1}}, "ordering"),
        ({"ordering": "path"}, "ordering"),
    ],
)
def test_an_invalid_ordering_is_refused_naming_the_field(
    client: FlaskClient, admin: dict[str, str], hook_id: str, definition: dict, field: str
) -> None:
    answer = client.put(f"/api/hooks/{hook_id}", json={"script": SCRIPT, **definition},
                        headers=admin)  # fmt: skip
    error = assert_error(answer, 422, "invalid_hook")
    assert error["message"].startswith(f"{field}: "), error


def test_the_ordering_is_stored_with_its_defaults(
    client: FlaskClient, admin: dict[str, str], hook_id: str
) -> None:
    stored = put_hook(client, admin, hook_id, script=SCRIPT, ordering={"key": "json:order.id"})
    assert stored["ordering"] == {"key": "json:order.id", "onFailure": "skip",
                                  "missing": "unordered"}  # fmt: skip
    assert client.get(f"/api/hooks/{hook_id}", headers=admin).json["ordering"]["key"] == (
        "json:order.id"
    )


@pytest.mark.parametrize(
    ("source", "request_kwargs", "expected"),
    [
        ("header:X-Customer", {"headers": {"X-Customer": "c-42"}}, "c-42"),
        ("query:customer", {"query_string": "customer=c-7&x=1"}, "c-7"),
        ("json:order.customer.id", {"json": {"order": {"customer": {"id": 42}}}}, "42"),
        ("json:items.1", {"json": {"items": ["a", "b"]}}, "b"),
        ("path", {"path": "/customers/9"}, "/customers/9"),
    ],
)
def test_each_source_gives_the_events_key(
    client: FlaskClient,
    admin: dict[str, str],
    hook_id: str,
    source: str,
    request_kwargs: dict,
    expected: str,
) -> None:
    put_hook(client, admin, hook_id, script=SCRIPT, ordering={"key": source})
    path = request_kwargs.pop("path", "")
    answer = send(client, hook_id, path, **request_kwargs)
    assert answer.status_code == 202, answer.text
    assert _job(client, answer.json["jobId"])["orderKey"] == expected


def test_a_missing_key_runs_unordered_or_is_refused_before_anything_is_stored(
    client: FlaskClient, admin: dict[str, str], hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script=SCRIPT, ordering={"key": "json:customer"})
    for body in (b"not json", b'{"customer": null}', b'{"other": 1}'):
        answer = send(client, hook_id, data=body)
        assert answer.status_code == 202, answer.text
        assert "orderKey" not in _job(client, answer.json["jobId"])

    rejecting = f"{hook_id}-r"
    ordering = {"key": "header:X-Customer", "missing": "reject"}
    put_hook(client, admin, rejecting, script=SCRIPT, ordering=ordering)
    assert_error(send(client, rejecting, data=b"{}"), 422, "ordering_key_missing")
    too_long = {"X-Customer": "k" * 1025}
    assert_error(send(client, rejecting, headers=too_long), 422, "ordering_key_too_long")
    assert history(client, admin, rejecting) == []  # nothing was stored
    assert send(client, rejecting, headers={"X-Customer": "c"}).status_code == 202


def _lane(hook_id: str) -> list[str]:
    queued = services.dispatcher().redis.lrange(keys.pending(hook_id), 0, -1)
    return [j.decode() for j in queued]


def _fail(job_id: str) -> None:
    """Run the job as a worker would, and fail it."""
    jobs = services.dispatcher().jobs
    raw, to_run = jobs.start(job_id, "test-worker", 1000)
    assert raw is not None and to_run
    assert jobs.finish(job_id, Outcome(JobStatus.FAILED, 1.0, [], error="boom")).recorded


def test_a_blocked_key_is_listed_gauged_and_resumed_with_a_rerun_then_skipped(
    flask_app: Flask, client: FlaskClient, admin: dict[str, str], hook_id: str
) -> None:
    since = time.time() - 1  # the audit reads oldest first: skip other tests' entries
    put_hook(client, admin, hook_id, script=SCRIPT, ordering=BLOCKING)
    key = "customer/42"
    customer = {"X-Customer": key}
    with flask_app.app_context():
        first, second, third = (send(client, hook_id, headers=customer).json["jobId"]
                                for _ in range(3))  # fmt: skip
        _fail(first)
    assert _job(client, second)["status"] == "queued"
    assert _job(client, second)["blockedBy"] == first
    listed = client.get(f"/api/hooks/{hook_id}/keys?blocked=true", headers=admin).json["keys"]
    assert [(k["key"], k["blockedBy"], k["waiting"]) for k in listed] == [(key, first, 2)]
    assert f'hooklet_ordering_blocked_keys{{hook="{hook_id}"}} 1.0' in client.get("/metrics").text

    resume = f"/api/hooks/{hook_id}/keys/{quote(key, safe='')}/resume"
    rerun = client.post(resume, headers=admin)
    assert rerun.status_code == 200, rerun.text
    assert rerun.json["skipped"] is False and rerun.json["failedJobId"] == first
    rerun_job = _job(client, rerun.json["rerunJobId"])
    assert rerun_job["replayOf"] == first and rerun_job["orderKey"] == key
    assert "blockedBy" not in _job(client, second)
    assert client.get(f"/api/hooks/{hook_id}/keys", headers=admin).json["keys"] == []
    assert_error(client.post(resume, headers=admin), 409, "key_not_blocked")
    with flask_app.app_context():
        # The rerun holds the key: the next event still waits behind it.
        assert _lane(hook_id) == [rerun.json["rerunJobId"]]
        _fail(rerun.json["rerunJobId"])  # fails again: blocked by the rerun
    skipped = client.post(resume, json={"skip": True}, headers=admin)
    assert skipped.status_code == 200, skipped.text
    assert skipped.json["nextJobId"] == second
    assert _job(client, third)["status"] == "queued" and "blockedBy" not in _job(client, third)
    with flask_app.app_context():
        assert _lane(hook_id) == [second]

    query = {"project": "default", "since": since}
    actions = client.get("/api/audit", query_string=query, headers=admin).json["entries"]
    resumes = [a for a in actions if a["action"] == "ordering.resume" and a["object"] == hook_id]
    assert len(resumes) == 2


def test_keys_need_jobs_scopes_and_another_projects_hook_is_not_found(
    client: FlaskClient, admin: dict[str, str], hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script=SCRIPT, ordering=BLOCKING)
    project = f"p-{uuid.uuid4().hex[:8]}"
    assert client.post("/api/projects", json={"id": project}, headers=admin).status_code == 201

    def token(project: str, scopes: list[str]) -> dict[str, str]:
        body = {"project": project, "name": "t", "scopes": scopes}
        made = client.post("/api/tokens", json=body, headers=admin)
        assert made.status_code == 201, made.text
        return {"Authorization": f"Bearer {made.json['token']}"}

    reader = token("default", ["jobs:read"])
    assert client.get(f"/api/hooks/{hook_id}/keys", headers=reader).status_code == 200
    resume = f"/api/hooks/{hook_id}/keys/k/resume"
    assert_error(client.post(resume, headers=reader), 403, "forbidden")
    writer = token("default", ["jobs:write"])
    assert_error(client.post(resume, headers=writer), 409, "key_not_blocked")
    stranger = token(project, ["jobs:read", "jobs:write"])
    assert_error(client.get(f"/api/hooks/{hook_id}/keys", headers=stranger), 404, "hook_not_found")
    assert_error(client.post(resume, headers=stranger), 404, "hook_not_found")


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("path", "/customers/42"),  # a path key starts with "/"
        ("json:id", "a b/ü€"),
        ("json:id", "x//y/"),
        ("json:id", "100%+?#&"),
        ("json:id", "resume"),
    ],
)
def test_any_key_is_resumed_through_its_percent_encoded_url(
    flask_app: Flask, client: FlaskClient, admin: dict[str, str], hook_id: str, source: str,
    key: str,
) -> None:  # fmt: skip
    put_hook(client, admin, hook_id, script=SCRIPT, ordering={"key": source, "onFailure": "block"})
    path, body = (key, b"{}") if source == "path" else ("", orjson.dumps({"id": key}))
    with flask_app.app_context():
        first, second = (send(client, hook_id, path, data=body).json["jobId"] for _ in range(2))
        _fail(first)
    [listed] = client.get(f"/api/hooks/{hook_id}/keys", headers=admin).json["keys"]
    assert listed["key"] == key
    resume = f"/api/hooks/{hook_id}/keys/{quote(key, safe='')}/resume"
    skipped = client.post(resume, json={"skip": True}, headers=admin)
    assert skipped.status_code == 200, skipped.text
    assert (skipped.json["key"], skipped.json["nextJobId"]) == (key, second)


def test_many_blocked_keys_are_listed_page_by_page_each_once(
    flask_app: Flask, client: FlaskClient, admin: dict[str, str], hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script=SCRIPT, ordering=BLOCKING)
    names = [f"c{n}" for n in range(7)]
    with flask_app.app_context():
        for name in names:
            _fail(send(client, hook_id, headers={"X-Customer": name}).json["jobId"])
        # Keys that blocked at the same instant still come once each.
        redis = services.dispatcher().redis
        for name in names[2:6]:
            redis.zadd(keys.ordering_blocked(hook_id), {keys.ordering_key_id(name): 5.0}, xx=True)
    seen, cursor, pages = [], "", 0
    while cursor is not None:
        url = f"/api/hooks/{hook_id}/keys?blocked=true&limit=3&cursor={quote(cursor)}"
        page = client.get(url, headers=admin)
        assert page.status_code == 200, page.text
        assert len(page.json["keys"]) <= 3
        seen += [k["key"] for k in page.json["keys"]]
        cursor, pages = page.json["nextCursor"], pages + 1
    assert sorted(seen) == names and pages == 3
    bad = client.get(f"/api/hooks/{hook_id}/keys?cursor=nope", headers=admin)
    assert_error(bad, 400, "invalid_request")


def test_a_key_blocked_before_its_hook_dropped_ordering_is_still_found_and_resumed(
    flask_app: Flask, client: FlaskClient, admin: dict[str, str], hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script=SCRIPT, ordering=BLOCKING)
    customer = {"X-Customer": "7"}
    with flask_app.app_context():
        first, second = (send(client, hook_id, headers=customer).json["jobId"] for _ in range(2))
        _fail(first)
    put_hook(client, admin, hook_id, script=SCRIPT)  # ordering dropped; the key stays blocked
    assert _job(client, second)["blockedBy"] == first
    listed = client.get("/api/keys?blocked=true", headers=admin)
    assert listed.status_code == 200, listed.text
    assert {"hookId": hook_id, "blockedKeys": 1} in listed.json["hooks"]
    skipped = client.post(f"/api/hooks/{hook_id}/keys/7/resume", json={"skip": True},
                          headers=admin)  # fmt: skip
    assert skipped.json["nextJobId"] == second
    listed = client.get("/api/keys?blocked=true", headers=admin).json["hooks"]
    assert hook_id not in [h["hookId"] for h in listed]


def test_a_key_whose_waiting_events_fill_the_hooks_queue_can_still_be_resumed_with_a_rerun(
    flask_app: Flask, client: FlaskClient, admin: dict[str, str], hook_id: str
) -> None:
    put_hook(client, admin, hook_id, script=SCRIPT, ordering=BLOCKING, limits={"maxQueued": 3})
    customer = {"X-Customer": "9"}
    with flask_app.app_context():
        first = send(client, hook_id, headers=customer).json["jobId"]
        _fail(first)
        waiting = [send(client, hook_id, headers=customer) for _ in range(3)]
        assert [w.status_code for w in waiting] == [202, 202, 202]
        assert_error(send(client, hook_id, headers=customer), 429, "too_many_requests")
    rerun = client.post(f"/api/hooks/{hook_id}/keys/9/resume", headers=admin)
    assert rerun.status_code == 200, rerun.text
    assert _job(client, rerun.json["rerunJobId"])["replayOf"] == first
