"""Callbacks pass the egress guard when a hook is saved and at every delivery,
through a real stack. The web allowlists all of 127.0.0.0/8; the workers
only 127.0.0.1, so a receiver on 127.0.0.2 stands for an address that
turned internal after the hook was saved. Every connection stays on
loopback: 8.8.8.8 appears only after the ``\\@``, where nothing connects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.support.receiver import Receiver
from tests.support.stack import Api, RedisServer, Web, Worker, free_port, hooklet_env, wait_until
from workers.hook_validation import parse_hook
from workers.settings import load_settings
from workers.store.hooks import HookStore

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, RedisServer]]:
    workdir = tmp_path_factory.mktemp("ssrf")
    server = RedisServer(workdir).start()
    web = Web(hooklet_env(server.url, callback_allowlist="127.0.0.0/8"), workdir).start()
    strict = hooklet_env(server.url, callback_allowlist="", egress_allowlist="127.0.0.1")
    workers = [
        Worker(strict, workdir, concurrency=1).start(),
        Worker(
            strict, workdir, name="callbacks", queues="callbacks", pool="threads", concurrency=2
        ).start(),
    ]
    try:
        yield Api(web.url), server
    finally:
        for worker in workers:
            worker.stop()
        web.stop()
        server.stop()


def first_attempt(api: Api, job_id: str) -> dict:
    return wait_until(
        lambda: (api.job(job_id).get("delivery") or {}).get("attempts"),
        what="a delivery attempt",
    )[0]


def admin_attempt(api: Api, hook_id: str, job_id: str) -> dict:
    response = api.http.get(f"{api.base}/api/hooks/{hook_id}/jobs", headers=api.admin)
    job = next(j for j in response.json()["jobs"] if j["jobId"] == job_id)
    return job["delivery"]["attempts"][0]


def test_the_backslash_callback_url_is_refused_and_nothing_is_sent(stack, hook_id) -> None:
    """Issue 13 #1: urlsplit reads 8.8.8.8, urllib3 (which connects) 127.0.0.1."""
    api, _ = stack
    receiver = Receiver()
    try:
        port = receiver.server.server_port
        url = f"http://127.0.0.1:{port}\\@8.8.8.8/internal-admin"
        response = api.http.put(
            f"{api.base}/api/hooks/{hook_id}",
            json={"script": "null", "callbackUrl": url},
            headers=api.admin,
        )
        assert response.status_code == 422, response.text
        message = response.json()["error"]["message"]
        assert message.startswith("callbackUrl: URL not allowed: a backslash")
        assert receiver.received == []
    finally:
        receiver.close()


def test_a_stored_bad_url_is_refused_at_delivery(stack, hook_id) -> None:
    """A hook saved before the fix (written straight to Redis) gets no
    callback either: the guard runs again at every delivery."""
    api, server = stack
    receiver = Receiver()
    try:
        port = receiver.server.server_port
        settings = load_settings({})
        hook = parse_hook(hook_id, {"script": "null"}, settings)
        bad = f"http://127.0.0.1:{port}\\@8.8.8.8/internal-admin"
        HookStore(server.client()).put(replace(hook, callback_url=bad))
        job = api.run(hook_id)
        attempt = first_attempt(api, job["jobId"])
        assert attempt["error"] == "refused by egress guard"
        assert "errorDetail" not in attempt
        assert "backslash" in admin_attempt(api, hook_id, job["jobId"])["errorDetail"]
        assert receiver.received == []
    finally:
        receiver.close()


def test_delivery_refuses_an_address_the_workers_do_not_allow(stack, hook_id) -> None:
    api, _ = stack
    receiver = Receiver("127.0.0.2")
    try:
        api.put_hook(hook_id, script="null", callbackUrl=receiver.url)  # the web allows it
        job = api.run(hook_id)
        attempt = first_attempt(api, job["jobId"])
        assert attempt["error"] == "refused by egress guard"
        detail = admin_attempt(api, hook_id, job["jobId"])["errorDetail"]
        assert detail.startswith("URL not allowed: 127.0.0.2 is a loopback address")
        assert "HOOKLET_EGRESS_ALLOWLIST" in detail
        assert receiver.received == []
    finally:
        receiver.close()


def test_senders_see_categories_and_the_admin_sees_detail(stack, hook_id) -> None:
    """Issue 13 #6: the public job view must not name the callback's host,
    port or path (a port scanner's oracle); the history keeps them."""
    api, _ = stack
    port = free_port()  # nothing listens here
    url = f"http://127.0.0.1:{port}/secret-path?token=abc"
    api.put_hook(hook_id, script="null", callbackUrl=url)
    job = api.run(hook_id)
    attempt = first_attempt(api, job["jobId"])
    assert attempt["error"] == "connection refused"
    public = json.dumps(api.job(job["jobId"]))
    assert str(port) not in public and "secret-path" not in public and "abc" not in public
    detail = admin_attempt(api, hook_id, job["jobId"])["errorDetail"]
    assert detail.startswith(f"Failed to connect to upstream: http://127.0.0.1:{port}/secret-path")
    assert "token" not in detail  # the query may carry secrets: never logged
    har = api.http.get(f"{api.base}/api/hooks/{hook_id}/jobs.har", headers=api.admin).json()
    entry = next(e for e in har["log"]["entries"] if job["jobId"] in e["comment"])
    assert "secret-path" in entry["_delivery"]["attempts"][0]["errorDetail"]


def test_an_http_error_shows_its_status_only(stack, hook_id) -> None:
    api, _ = stack
    receiver = Receiver()
    receiver.default.status = 500
    try:
        api.put_hook(hook_id, script="null", callbackUrl=receiver.url)
        job = api.run(hook_id)
        attempt = first_attempt(api, job["jobId"])
        assert (attempt["error"], attempt["statusCode"]) == ("HTTP 500", 500)
        assert admin_attempt(api, hook_id, job["jobId"])["errorDetail"].startswith("HTTP 500")
        assert len(receiver.for_job(job["jobId"])) >= 1
    finally:
        receiver.close()
